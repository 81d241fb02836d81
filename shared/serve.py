"""Run an ASGI app the way every PoolGate service does (uvloop + httptools, no access log)."""

from __future__ import annotations

import uvicorn


def serve(app_path: str, *, host: str, port: int, log_level: str = "warning") -> None:
    uvicorn.run(
        app_path,
        factory=True,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )
