"""Run an ASGI app the way every PoolGate service does (uvloop + httptools, no access log).

With `workers` > 1, uvicorn binds the port once and runs that many worker processes that accept on
it; each runs the app factory and its own lifespan (its own pools, consumers and, in
account_service, its own in-memory index on its own replica queue), like so many replicas.

A service facing clients passes `header_timeout_s`: its connections then run
`shared/http_protocol.py`, which closes a connection that does not finish its request headers in
time (uvicorn alone waits forever).
"""

from __future__ import annotations

from functools import partial

import uvicorn

from shared.http_protocol import HeaderTimeoutProtocol


def serve(
    app_path: str,
    *,
    host: str,
    port: int,
    workers: int = 1,
    log_level: str = "warning",
    header_timeout_s: float | None = None,
) -> None:
    http = "httptools" if header_timeout_s is None else http_protocol(header_timeout_s)
    uvicorn.run(
        app_path,
        factory=True,
        host=host,
        port=port,
        workers=max(1, workers),
        loop="uvloop",
        http=http,
        access_log=False,
        # The client's address is the TCP peer's: account_service's loopback-only internal API (with
        # the development token) must not trust X-Forwarded-For, and no service needs it.
        proxy_headers=False,
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )


def http_protocol(header_timeout_s: float) -> partial[HeaderTimeoutProtocol]:
    """uvicorn's `http=` for a service facing clients: httptools with a header deadline."""
    return partial(HeaderTimeoutProtocol, header_timeout_s=header_timeout_s)
