"""`/readyz`: names every failed check; answers 503 only for a required one."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.observability import health_router


async def _ok() -> None:
    return None


async def _down() -> None:
    raise ConnectionRefusedError("no")


def _ready(required: frozenset[str] | None) -> tuple[int, dict]:
    app = FastAPI()
    app.include_router(health_router(lambda: {"postgresql": _down, "redis": _ok}, required=required))
    with TestClient(app) as client:
        answer = client.get("/readyz")
    return answer.status_code, answer.json()


def test_a_failed_check_is_named_and_blocks_by_default() -> None:
    status, body = _ready(None)
    assert status == 503
    assert body == {
        "status": "unavailable",
        "checks": {"postgresql": "failed: ConnectionRefusedError", "redis": "ok"},
    }


def test_a_dependency_the_service_rides_out_makes_it_degraded_not_unready() -> None:
    status, body = _ready(frozenset())
    assert status == 200
    assert body["status"] == "degraded"
    assert body["checks"]["postgresql"] == "failed: ConnectionRefusedError"


def test_a_required_dependency_down_is_unready() -> None:
    assert _ready(frozenset({"postgresql"}))[0] == 503
    assert _ready(frozenset({"redis"}))[0] == 200
