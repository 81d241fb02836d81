"""Run an ASGI app the way every PoolGate service does (uvloop + httptools, no access log).

With `workers` > 1, uvicorn binds the port once and runs that many worker processes that accept on
it; each runs the app factory and its own lifespan (its own pools, consumers and, in
account_service, its own in-memory index on its own replica queue), like so many replicas.
"""

from __future__ import annotations

import uvicorn


def serve(app_path: str, *, host: str, port: int, workers: int = 1, log_level: str = "warning") -> None:
    uvicorn.run(
        app_path,
        factory=True,
        host=host,
        port=port,
        workers=max(1, workers),
        loop="uvloop",
        http="httptools",
        access_log=False,
        # No service reads the client's address, so X-Forwarded-* need not be parsed on every call.
        proxy_headers=False,
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )
