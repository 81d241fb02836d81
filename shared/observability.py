"""Health and metrics endpoints every service mounts the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from shared.metrics import Reading, exposition
from shared.responses import JSONResponse

Check = Callable[[], Awaitable[object]]


def health_router(
    checks: Callable[[], dict[str, Check]],
    *,
    required: frozenset[str] | None = None,
    timeout_s: float = 2.0,
    readings: Callable[[], Sequence[Reading]] = tuple,
    draining: Callable[[], bool] = lambda: False,
) -> APIRouter:
    """`/healthz` says the process is alive; `/readyz` runs every dependency check and names each
    one that failed. It answers 503 only when a `required` check failed (all of them by default):
    a service that still does its job without a dependency says `degraded` with a 200, so that an
    orchestrator does not take it out of rotation for what it can ride out. A process that is
    `draining` (shutting down) answers 503 `draining` without running the checks.

    `/metrics` answers for every worker process of the service (`shared/metrics.py`), with the
    scrape-time `readings` the service has once its lifespan started."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        if draining():
            return JSONResponse({"status": "draining", "checks": {}}, status_code=503)
        results: dict[str, str] = {}
        for name, check in checks().items():
            try:
                await asyncio.wait_for(check(), timeout_s)
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"failed: {exc.__class__.__name__}"
        failed = {name for name, result in results.items() if result != "ok"}
        blocking = failed if required is None else failed & required
        status = "unavailable" if blocking else "degraded" if failed else "ok"
        return JSONResponse({"status": status, "checks": results}, status_code=503 if blocking else 200)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(await exposition(readings()), media_type=CONTENT_TYPE_LATEST)

    return router
