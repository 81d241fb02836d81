"""A proxy's graceful shutdown (drain.py): out of rotation, then refusing, then a deadline that ends
what still runs with an error the client's SDK raises, every lease released."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.proxy_service.drain import Drain
from services.proxy_service.formats import CLAUDE, OPENAI, ClientFormat
from services.proxy_service.relay import AttemptDeps, Leases, Relay, RetryPolicy
from services.proxy_service.upstreams.custom_api import CustomApiUpstream
from shared.observability import health_router
from tests.unit.proxy_service.relay._fakes import (
    HANG,
    WAIT_FOR_CLOSE,
    Client,
    FakeInternal,
    FakeSession,
    FakeUpstreamResponse,
    Recorder,
)
from tests.unit.proxy_service.relay.test_relay import START, client_request, leases_settled, outcomes

OVERLOADED = {
    "type": "error",
    "error": {
        "type": "overloaded_error",
        "message": "this PoolGate proxy is shutting down; retry the request",
    },
}
OPENAI_SHUTDOWN = {
    "message": "this PoolGate proxy is shutting down; retry the request",
    "type": "service_unavailable",
    "param": None,
    "code": "server_shutting_down",
}


def relay(
    internal: FakeInternal, session: FakeSession, usage: Recorder, drain: Drain, **options: Any
) -> Relay:
    deps = AttemptDeps(
        session=session,  # type: ignore[arg-type]
        usage=usage,  # type: ignore[arg-type]
        leases=Leases(internal),  # type: ignore[arg-type]
        first_byte_timeout_s=5.0,
        drain=drain,
    )
    return Relay(
        internal=internal,  # type: ignore[arg-type]
        upstreams={"custom_api": CustomApiUpstream()},
        deps=deps,
        max_attempts=2,
        retry=RetryPolicy(same_account_retries=0),
        **{"ping_after_s": 5.0, "ping_interval_s": 5.0, **options},
    )


def last_event(body: bytes) -> Any:
    """The data of the stream's last SSE event."""
    event = body.rstrip(b"\n").rsplit(b"\n\n", 1)[-1]
    data = next(line for line in event.split(b"\n") if line.startswith(b"data: "))
    return orjson.loads(data[len(b"data: ") :])


async def until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0.005)


@pytest.mark.parametrize("fmt", [CLAUDE, OPENAI], ids=["anthropic", "openai"])
async def test_a_stream_running_at_the_drain_deadline_ends_with_an_error_its_sdk_raises(
    fmt: ClientFormat,
) -> None:
    internal = FakeInternal(("cl-1", "claude"))
    upstream = FakeUpstreamResponse([START, WAIT_FOR_CLOSE], headers={"content-type": "text/event-stream"})
    session = FakeSession({"cl-1": [upstream]})
    usage, drain = Recorder(), Drain()
    subject = relay(internal, session, usage, drain)
    body = {"model": "claude-sonnet-4", "max_tokens": 9, "messages": [{"role": "user", "content": "Hi"}]}
    response = await subject.handle(client_request(fmt, body={**body, "stream": True}), fmt)
    client = Client()
    running = asyncio.ensure_future(client.run(response))
    await until(lambda: len(client.sent) >= 2)  # the stream is under way
    drain.end()
    await running
    assert client.starts[0]["status"] == 200
    if fmt is CLAUDE:
        assert client.body.endswith(b"event: error\ndata: " + orjson.dumps(OVERLOADED) + b"\n\n")
    else:
        assert last_event(client.body) == {"error": OPENAI_SHUTDOWN}
    assert client.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert upstream.closed
    assert outcomes(usage) == ["cancelled"]  # not held against the account
    assert leases_settled(internal, subject._deps.leases)


async def test_a_stream_still_pinged_at_the_deadline_ends_with_the_error_and_cancels_its_attempt() -> None:
    internal = FakeInternal(("cl-1", "claude"))
    session = FakeSession({"cl-1": [HANG]})
    usage, drain = Recorder(), Drain()
    subject = relay(internal, session, usage, drain, ping_after_s=0.01, ping_interval_s=0.01)
    response = await subject.handle(client_request(stream=True), CLAUDE)
    client = Client()
    running = asyncio.ensure_future(client.run(response))
    await until(lambda: b"event: ping" in client.body)
    drain.end()
    await running
    assert client.body.endswith(b"event: error\ndata: " + orjson.dumps(OVERLOADED) + b"\n\n")
    assert outcomes(usage) == ["cancelled"]
    assert leases_settled(internal, subject._deps.leases)


async def test_a_call_not_answered_by_the_deadline_gets_a_503_it_may_retry() -> None:
    internal = FakeInternal(("cl-1", "claude"))
    session = FakeSession({"cl-1": [HANG]})
    usage, drain = Recorder(), Drain()
    subject = relay(internal, session, usage, drain)
    call = asyncio.ensure_future(subject.handle(client_request(), CLAUDE))
    await until(lambda: session.posts)
    drain.end()
    response = await call
    assert response.status_code == 503
    assert orjson.loads(response.body) == OVERLOADED
    assert dict(response.raw_headers)[b"retry-after"] == b"1"
    assert outcomes(usage) == ["cancelled"]
    assert leases_settled(internal, subject._deps.leases)


@pytest.mark.parametrize(
    ("fmt", "body"), [(CLAUDE, OVERLOADED), (OPENAI, {"error": OPENAI_SHUTDOWN})], ids=["anthropic", "openai"]
)
async def test_a_call_after_the_grace_is_refused_in_its_format_without_an_allocation(
    fmt: ClientFormat, body: dict
) -> None:
    internal = FakeInternal(("cl-1", "claude"))
    drain = Drain()
    drain.refusing = True
    response = await relay(internal, FakeSession({}), Recorder(), drain).handle(client_request(fmt), fmt)
    assert response.status_code == 503
    assert orjson.loads(response.body) == body
    headers = dict(response.raw_headers)
    assert headers[b"retry-after"] == b"1" and headers[b"connection"] == b"close"
    assert internal.calls == []


async def test_sigterm_fails_readiness_then_stops_serving_after_the_grace_then_ends_calls() -> None:
    drain = Drain(grace_s=0.05, timeout_s=0.05)
    stopped: list[bool] = []
    drain.begin(lambda: stopped.append(drain.ended.is_set()))
    assert drain.draining and not drain.refusing
    await until(lambda: stopped)
    assert drain.refusing and stopped == [False]  # uvicorn's shutdown begins before the deadline
    await drain.ended.wait()
    drain.begin(lambda: stopped.append(True))  # a second SIGTERM: uvicorn's handler at once
    assert stopped == [False, True]
    await drain.close()


def test_readiness_answers_503_draining_while_the_process_drains() -> None:
    draining = False
    app = FastAPI()

    async def ok() -> None:
        return None

    app.include_router(health_router(lambda: {"account_service": ok}, draining=lambda: draining))
    with TestClient(app) as http:
        assert http.get("/readyz").status_code == 200
        draining = True
        answer = http.get("/readyz")
        assert answer.status_code == 503 and answer.json()["status"] == "draining"
        assert http.get("/healthz").status_code == 200  # alive: liveness must not restart it


async def test_outside_uvicorn_sigterm_is_left_alone() -> None:
    import signal

    before = signal.getsignal(signal.SIGTERM)
    restore = Drain().install()
    assert signal.getsignal(signal.SIGTERM) is before
    restore()
