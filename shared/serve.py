"""Run an ASGI app the way every PoolGate service does (uvloop + httptools, no access log).

With `workers` > 1, uvicorn binds the port once and runs that many worker processes that accept on
it; each runs the app factory and its own lifespan (its own pools, consumers and, in
account_service, its own in-memory index on its own replica queue), like so many replicas.

A service behind a TLS proxy passes `forwarded_allow_ips` (`POOLGATE_FORWARDED_ALLOW_IPS`), the
proxies whose X-Forwarded-Proto/-For it believes.

With several workers, their metrics go to files in a directory of their own
(`PROMETHEUS_MULTIPROC_DIR`, emptied at start), so that any worker answers `/metrics` for all of them
(`shared/metrics.py`): `<tmp>/poolgate-metrics-<port>`, or `<port>` under a `PROMETHEUS_MULTIPROC_DIR`
the operator set (one directory per service, since each empties its own at start).

A service facing clients passes `header_timeout_s`: its connections then run
`shared/http_protocol.py`, which closes a connection that does not finish its request headers in
time (uvicorn alone waits forever).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from functools import partial

import uvicorn

from shared.http_protocol import HeaderTimeoutProtocol
from shared.metrics import MULTIPROC_ENV, prepare_multiprocess_dir


def serve(
    app_path: str,
    *,
    host: str,
    port: int,
    workers: int = 1,
    log_level: str = "warning",
    header_timeout_s: float | None = None,
    forwarded_allow_ips: str = "",
    graceful_shutdown_s: float = 10,
) -> None:
    http = "httptools" if header_timeout_s is None else http_protocol(header_timeout_s)
    if workers > 1 or os.environ.get(MULTIPROC_ENV):
        metrics_dir = metrics_dir_for(port)
        prepare_multiprocess_dir(metrics_dir)
        atexit.register(shutil.rmtree, metrics_dir, ignore_errors=True)
    uvicorn.run(
        app_path,
        factory=True,
        host=host,
        port=port,
        workers=max(1, workers),
        loop="uvloop",
        http=http,
        access_log=False,
        # X-Forwarded-Proto and -For are believed only from the peers in `forwarded_allow_ips` (a TLS
        # proxy in front of the console: its cookies are `Secure` when the browser's side is https);
        # from anyone else, or when it is empty, the client is the TCP peer. A local proxy's request
        # then carries the real client's address, so the loopback-only internal API (with the
        # development token) does not take it for a local one.
        proxy_headers=bool(forwarded_allow_ips),
        forwarded_allow_ips=forwarded_allow_ips or None,
        log_level=log_level,
        # After SIGTERM (passed to each worker by uvicorn's parent): how long running requests may go
        # on before uvicorn cancels them.
        timeout_graceful_shutdown=graceful_shutdown_s,
    )


def metrics_dir_for(port: int) -> str:
    base = os.environ.get(MULTIPROC_ENV)
    if base:
        return os.path.join(base, str(port))
    return os.path.join(tempfile.gettempdir(), f"poolgate-metrics-{port}")


def http_protocol(header_timeout_s: float) -> partial[HeaderTimeoutProtocol]:
    """uvicorn's `http=` for a service facing clients: httptools with a header deadline."""
    return partial(HeaderTimeoutProtocol, header_timeout_s=header_timeout_s)
