"""The attempt loop's decisions, with account_service and the upstreams faked at their boundaries."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import orjson
import pytest
from starlette.requests import Request

from services.proxy_service.app import upstream_session
from services.proxy_service.formats import CLAUDE, OPENAI, ClientFormat
from services.proxy_service.relay import AttemptDeps, Leases, Relay, RetryPolicy
from services.proxy_service.relay.keepalive import KeepAliveStream
from services.proxy_service.settings import ProxySettings
from services.proxy_service.upstreams.custom_api import CustomApiUpstream
from services.proxy_service.upstreams.kiro import KiroUpstream
from shared.errors import RateLimited
from tests.unit.proxy_service.relay._fakes import (
    HANG,
    Client,
    FakeInternal,
    FakeSession,
    FakeUpstreamResponse,
    Recorder,
)

MODEL = "claude-sonnet-4"
CLAUDE_OK = orjson.dumps(
    {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": "Hi"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
)
OPENAI_OK = orjson.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
)
RATE_LIMITED = orjson.dumps({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})
START = b'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-sonnet-4"}}\n\n'
STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def ok(body: bytes = CLAUDE_OK) -> FakeUpstreamResponse:
    return FakeUpstreamResponse(body=body)


def failed(status: int, body: bytes = RATE_LIMITED, **headers: str) -> FakeUpstreamResponse:
    return FakeUpstreamResponse(status=status, body=body, headers=headers)


def streamed() -> FakeUpstreamResponse:
    return FakeUpstreamResponse([START, STOP], headers={"content-type": "text/event-stream"})


def relay(internal: FakeInternal, session: FakeSession, usage: Recorder, **options: Any) -> Relay:
    settings: dict[str, Any] = {
        "max_attempts": 4,
        "retry": RetryPolicy(same_account_retries=3, base_delay_s=0.01, max_wait_s=1.0),
        "ping_after_s": 5.0,
        "ping_interval_s": 5.0,
    }
    first_byte_timeout_s = options.pop("first_byte_timeout_s", 5.0)
    settings.update(options)
    deps = AttemptDeps(
        session=session,  # type: ignore[arg-type]
        usage=usage,  # type: ignore[arg-type]
        leases=Leases(internal),  # type: ignore[arg-type]
        first_byte_timeout_s=first_byte_timeout_s,
    )
    upstreams = {u.kind: u for u in (CustomApiUpstream(), KiroUpstream())}
    return Relay(internal=internal, upstreams=upstreams, deps=deps, **settings)  # type: ignore[arg-type]


def client_request(
    fmt: ClientFormat = CLAUDE,
    *,
    stream: bool = False,
    body: dict[str, Any] | None = None,
    leave_after_s: float | None = None,
) -> Request:
    # The standard library writes deeper nesting than orjson (the too-deep test needs that).
    raw = json.dumps(
        body
        or {
            "model": MODEL,
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "Hi"}],
            "stream": stream,
        }
    ).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": fmt.route,
        "query_string": b"",
        "headers": [(b"x-api-key", b"pg-key"), (b"content-type", b"application/json")],
    }

    messages = [{"type": "http.request", "body": raw, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        if leave_after_s is None:
            await asyncio.Event().wait()  # the client stays until it has its answer
        await asyncio.sleep(leave_after_s)
        return {"type": "http.disconnect"}

    return Request(scope, receive)


def outcomes(usage: Recorder) -> list[str]:
    return [event.outcome for event in usage.events]


async def test_an_account_of_the_clients_own_format_takes_a_single_allocation() -> None:
    internal = FakeInternal(("oa-1", "openai"), ("cl-1", "claude"))
    session = FakeSession({"oa-1": [ok(OPENAI_OK)], "cl-1": [ok()]})
    response = await relay(internal, session, Recorder()).handle(client_request(), CLAUDE)
    assert response.status_code == 200
    assert internal.calls == [(["claude", "kiro"], [])]
    assert session.posts == ["cl-1"]


async def test_the_other_format_serves_when_none_of_the_own_or_kiro_is_left() -> None:
    internal = FakeInternal(("oa-1", "openai"), ("cl-1", "claude"))
    session = FakeSession({"oa-1": [ok(OPENAI_OK)], "cl-1": [failed(429)]})
    usage = Recorder()
    response = await relay(internal, session, usage).handle(client_request(), CLAUDE)
    assert response.status_code == 200
    assert orjson.loads(response.body)["content"] == [{"type": "text", "text": "Hi"}]  # converted
    assert internal.calls == [(["claude", "kiro"], []), (["claude", "kiro"], ["cl-1"])]
    assert session.posts == ["cl-1", "oa-1"]
    assert outcomes(usage) == ["rate_limited", "success"]


async def test_only_the_first_attempt_of_a_call_counts_against_the_keys_limits() -> None:
    internal = FakeInternal(("cl-1", "claude"), ("cl-2", "claude"))
    session = FakeSession({"cl-1": [failed(429, **{"retry-after-ms": "20"}), ok()], "cl-2": [failed(503)]})
    response = await relay(internal, session, Recorder()).handle(client_request(), CLAUDE)
    assert response.status_code == 200
    assert internal.retries[0] is False
    assert internal.retries[1:] and all(internal.retries[1:])  # failover and the try after the wait
    await relay(internal, FakeSession({"cl-1": [ok()]}), Recorder()).handle(client_request(), CLAUDE)
    assert internal.retries[-1] is False  # the next client call is a first attempt again


async def test_a_keys_limit_is_the_clients_429_in_its_format_and_not_retried() -> None:
    class LimitedInternal(FakeInternal):
        async def allocate(self, **kwargs: Any) -> Any:
            self.calls.append((kwargs.get("prefer"), kwargs["exclude"]))
            raise RateLimited(
                "requests_per_minute limit of 2 reached for this API key",
                code="requests_per_minute_exceeded",
                retry_after=42,
            )

    internal = LimitedInternal(("cl-1", "claude"))
    session = FakeSession({"cl-1": [ok()]})
    response = await relay(internal, session, Recorder()).handle(client_request(), CLAUDE)
    assert response.status_code == 429
    assert dict(response.headers)["retry-after"] == "42"
    assert orjson.loads(response.body) == {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "requests_per_minute limit of 2 reached for this API key",
        },
    }
    assert len(internal.calls) == 1 and session.posts == []


async def test_a_concurrency_refusal_waits_for_this_proxys_releases_in_transit() -> None:
    """The key's slot of a call that just ended may be on its way back in another allocation: the
    refused one is asked again once that has landed, as for an account's slot."""

    class OneSlot(FakeInternal):
        def __init__(self) -> None:
            super().__init__(("cl-1", "claude"))
            self.carrying = asyncio.Event()
            self.refused = 0

        async def allocate(self, **kwargs: Any) -> Any:
            if kwargs.get("release"):  # the allocation that carries the slot back, slowly
                self.carrying.set()
                await asyncio.sleep(0.05)
            elif not self.released:  # the slot is not back yet
                self.refused += 1
                raise RateLimited(
                    "concurrency limit of 1 reached", code="concurrency_exceeded", retry_after=1
                )
            return await super().allocate(**kwargs)

    internal = OneSlot()
    subject = relay(internal, FakeSession({"cl-1": [ok()]}), Recorder())
    subject._deps.leases.release("cl-0", "lease-cl-0")  # a call of this key just ended
    carrier = asyncio.create_task(subject.handle(client_request(), CLAUDE))
    await internal.carrying.wait()
    response = await subject.handle(client_request(), CLAUDE)
    assert internal.refused == 1
    assert response.status_code == 200
    assert (await carrier).status_code == 200


async def test_a_malformed_answer_is_an_upstream_error_in_the_clients_format() -> None:
    malformed = orjson.dumps({"choices": [{"message": {"tool_calls": True}}]})
    internal = FakeInternal(("oa-1", "openai"))
    session = FakeSession({"oa-1": [ok(malformed)]})
    usage = Recorder()
    response = await relay(internal, session, usage).handle(client_request(), CLAUDE)
    assert response.status_code == 502
    body = orjson.loads(response.body)
    assert body["type"] == "error"
    assert body["error"]["type"] == "api_error"
    assert "malformed" in body["error"]["message"]
    assert set(outcomes(usage)) == {"upstream_error"}  # tried again like any 5xx, then answered


async def test_a_lone_account_is_tried_again_after_its_retry_after() -> None:
    internal = FakeInternal(("cl-1", "claude"))
    session = FakeSession({"cl-1": [failed(429, **{"retry-after-ms": "150"}), ok()]})
    usage = Recorder()
    started = time.perf_counter()
    response = await relay(internal, session, usage).handle(client_request(), CLAUDE)
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.15
    assert internal.calls == [
        (["claude", "kiro"], []),
        (["claude", "kiro"], ["cl-1"]),
        (["claude", "kiro"], []),  # after the wait, the account already tried may serve again
    ]
    assert outcomes(usage) == ["rate_limited", "success"]


async def test_passing_failures_give_up_after_three_retries_with_the_last_answer() -> None:
    internal = FakeInternal(("cl-1", "claude"))
    overloaded = orjson.dumps(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    session = FakeSession({"cl-1": [failed(529, overloaded)]})
    usage = Recorder()
    response = await relay(internal, session, usage).handle(client_request(), CLAUDE)
    assert response.status_code == 529
    assert orjson.loads(response.body)["error"]["message"] == "Overloaded"
    assert session.posts == ["cl-1"] * 4
    assert outcomes(usage) == ["upstream_error"] * 4


async def test_a_refused_credential_is_not_tried_again() -> None:
    internal = FakeInternal(("cl-1", "claude"))
    refused = b'{"type":"error","error":{"type":"authentication_error"}}'
    session = FakeSession({"cl-1": [failed(401, refused)]})
    response = await relay(internal, session, Recorder()).handle(client_request(), CLAUDE)
    assert response.status_code == 401
    assert session.posts == ["cl-1"]


async def refused_connect() -> BaseException:
    """What a real upstream session raises for an account whose address is internal (never connected)."""
    session = upstream_session(ProxySettings(allow_private_upstreams=False))
    try:
        await session.post("http://127.0.0.1:9/v1/messages", data=b"{}")
    except Exception as exc:
        return exc
    finally:
        await session.close()
    raise AssertionError("the guard let the call through")


async def test_an_account_on_an_internal_address_is_a_connect_error_and_another_account_serves() -> None:
    internal = FakeInternal(("cl-1", "claude"), ("cl-2", "claude"))
    session = FakeSession({"cl-1": [await refused_connect()], "cl-2": [ok()]})
    usage = Recorder()
    response = await relay(internal, session, usage).handle(client_request(), CLAUDE)
    assert response.status_code == 200
    assert session.posts == ["cl-1", "cl-2"]
    assert outcomes(usage) == ["connect_error", "success"]


async def test_a_refused_address_alone_is_a_502_in_the_clients_format_without_backoff() -> None:
    internal = FakeInternal(("oa-1", "openai"))
    session = FakeSession({"oa-1": [await refused_connect()]})
    usage = Recorder()
    response = await relay(internal, session, usage).handle(client_request(OPENAI), OPENAI)
    assert response.status_code == 502
    assert orjson.loads(response.body)["error"]["code"] == "upstream_address_refused"
    assert session.posts == ["oa-1"]  # no wait will make the address reachable
    assert outcomes(usage) == ["connect_error"]


async def test_a_refusal_before_any_attempt_is_the_answer_with_its_retry_after() -> None:
    internal = FakeInternal(retry_after=12.0)
    response = await relay(internal, FakeSession({}), Recorder()).handle(client_request(), CLAUDE)
    assert response.status_code == 503
    assert dict(response.raw_headers)[b"retry-after"] == b"12"
    assert orjson.loads(response.body)["error"]["message"] == "nothing left"


def pinging(**options: Any) -> dict[str, Any]:
    return {"ping_after_s": 0.03, "ping_interval_s": 0.04, **options}


async def test_a_stream_found_after_a_backoff_is_relayed_behind_pings() -> None:
    internal = FakeInternal(("cl-1", "claude"))
    session = FakeSession({"cl-1": [failed(429, **{"retry-after-ms": "150"}), streamed]})
    usage = Recorder()
    response = await relay(internal, session, usage, **pinging()).handle(client_request(stream=True), CLAUDE)
    assert isinstance(response, KeepAliveStream)
    client = Client()
    await client.run(response)
    assert [start["status"] for start in client.starts] == [200]
    pings, rest = client.body.split(START)
    assert pings.startswith(b"event: ping\n") and rest == STOP
    assert outcomes(usage) == ["rate_limited", "success"]


async def test_pings_and_the_first_byte_timeout_compose_into_a_timeout_error_event() -> None:
    internal = FakeInternal(("cl-1", "claude"))
    session = FakeSession({"cl-1": [HANG]})
    usage = Recorder()
    options = pinging(first_byte_timeout_s=0.2, retry=RetryPolicy(same_account_retries=0))
    client = Client()
    response = await relay(internal, session, usage, **options).handle(client_request(stream=True), CLAUDE)
    await client.run(response)
    assert client.starts[0]["status"] == 200
    assert client.body.count(b"event: ping\n") >= 3
    assert client.body.endswith(
        b'event: error\ndata: {"type":"error","error":{"type":"api_error",'
        b'"message":"the upstream did not answer in time"}}\n\n'
    )
    assert outcomes(usage) == ["timeout"]


async def test_a_client_that_leaves_while_pinged_cancels_the_pending_attempt() -> None:
    internal = FakeInternal(("cl-1", "claude"))
    session = FakeSession({"cl-1": [HANG]})
    usage = Recorder()
    client = Client(leave_after_s=0.1)
    response = await relay(internal, session, usage, **pinging()).handle(client_request(stream=True), CLAUDE)
    await client.run(response)
    assert session.posts == ["cl-1"]
    assert outcomes(usage) == ["cancelled"]


INVALID = b'{"type":"error","error":{"type":"invalid_request_error","message":"no"}}'


def nested(depth: int) -> dict[str, Any]:
    """A JSON schema `depth` levels deep (each object level adds `properties`: two levels)."""
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth // 2):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def openai_body(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], **extra}


def leases_settled(internal: FakeInternal, leases: Leases) -> bool:
    """Every lease handed out was released: none is held, each is carried or already applied."""
    handed_out = {f"lease-{account_id}" for account_id, _ in internal.accounts}
    released = {lease for _, lease in [*internal.released, *leases.waiting]}
    return leases.held == 0 and handed_out <= released


@pytest.mark.parametrize(
    ("answer", "status", "outcome"),
    [
        (lambda: ok(), 200, "success"),
        (
            lambda: failed(400, b'{"type":"error","error":{"type":"invalid_request_error"}}'),
            400,
            "client_error",
        ),
        (lambda: failed(503), 503, "upstream_error"),
        (lambda: RuntimeError("a bug inside the proxy"), 500, "internal_error"),
        (lambda: TimeoutError(), 504, "timeout"),
    ],
    ids=["success", "client-error", "server-error", "proxy-exception", "timeout"],
)
async def test_every_attempt_releases_its_lease_and_records_its_outcome(answer, status, outcome) -> None:
    internal = FakeInternal(("cl-1", "claude"))
    session = FakeSession({"cl-1": [answer()]})
    usage = Recorder()
    subject = relay(internal, session, usage, retry=RetryPolicy(same_account_retries=0))
    response = await subject.handle(client_request(), CLAUDE)
    assert response.status_code == status
    assert set(outcomes(usage)) == {outcome}
    assert leases_settled(internal, subject._deps.leases)


async def test_the_next_allocation_carries_the_release_of_the_last_attempt() -> None:
    internal = FakeInternal(("cl-1", "claude"))
    session = FakeSession({"cl-1": [ok()]})
    subject = relay(internal, session, Recorder())
    await subject.handle(client_request(), CLAUDE)
    assert internal.released == []  # nothing sent yet: no extra round trip on the request path
    await subject.handle(client_request(), CLAUDE)
    assert internal.released == [("cl-1", "lease-cl-1")]
    assert subject._deps.leases.waiting == [("cl-1", "lease-cl-1")]  # the second call's own


async def test_a_client_that_leaves_before_the_first_byte_cancels_the_upstream_call() -> None:
    internal = FakeInternal(("cl-1", "claude"))
    session = FakeSession({"cl-1": [HANG]})
    usage = Recorder()
    subject = relay(internal, session, usage)
    response = await subject.handle(client_request(leave_after_s=0.05), CLAUDE)
    assert response.status_code == 499
    assert outcomes(usage) == ["cancelled"]
    assert leases_settled(internal, subject._deps.leases)


async def test_a_schema_too_deep_to_convert_is_the_clients_400_naming_the_field() -> None:
    internal = FakeInternal(("cl-1", "claude"))
    session = FakeSession({"cl-1": [ok()]})
    usage = Recorder()
    tool = {"type": "function", "function": {"name": "deep", "parameters": nested(260)}}
    subject = relay(internal, session, usage)
    response = await subject.handle(client_request(OPENAI, body=openai_body(tools=[tool])), OPENAI)
    assert response.status_code == 400
    error = orjson.loads(response.body)["error"]
    assert error["param"].startswith("tools[0].function.parameters.properties.a.")
    assert "nested" in error["message"]
    assert session.posts == []  # never sent
    assert outcomes(usage) == ["client_error"]
    assert leases_settled(internal, subject._deps.leases)


async def test_a_deep_schema_that_converts_is_sent() -> None:
    internal = FakeInternal(("cl-1", "claude"))
    session = FakeSession({"cl-1": [ok()]})
    tool = {"type": "function", "function": {"name": "deep", "parameters": nested(100)}}
    response = await relay(internal, session, Recorder()).handle(
        client_request(OPENAI, body=openai_body(tools=[tool])), OPENAI
    )
    assert response.status_code == 200
    assert session.posts == ["cl-1"]


async def test_a_client_that_leaves_during_allocation_strands_no_lease() -> None:
    class SlowInternal(FakeInternal):
        async def allocate(self, **kwargs: Any) -> Any:
            await asyncio.sleep(0.1)  # the client leaves meanwhile
            return await super().allocate(**kwargs)

    internal = SlowInternal(("cl-1", "claude"))
    session = FakeSession({"cl-1": [ok()]})
    subject = relay(internal, session, Recorder())
    response = await subject.handle(client_request(leave_after_s=0.02), CLAUDE)
    assert response.status_code == 499
    await asyncio.sleep(0.15)  # the allocation completes behind the cancelled call
    assert session.posts == []
    assert subject._deps.leases.waiting == [("cl-1", "lease-cl-1")]  # released, not stranded


async def test_every_attempt_of_a_call_carries_its_sticky_session() -> None:
    internal = FakeInternal(("cl-1", "claude"), ("cl-2", "claude"))
    session = FakeSession({"cl-1": [failed(429)], "cl-2": [ok()]})
    body = {
        "model": MODEL,
        "max_tokens": 16,
        "metadata": {"user_id": "user_x_account__session_1"},
        "messages": [{"role": "user", "content": "Hi"}],
    }
    response = await relay(internal, session, Recorder()).handle(client_request(body=body), CLAUDE)
    assert response.status_code == 200
    (first, lookup), second = internal.sessions
    assert first is not None and lookup is True and second == (first, True)
    await relay(internal, FakeSession({"cl-1": [ok()]}), Recorder()).handle(client_request(), CLAUDE)
    assert internal.sessions[-1][0] not in (None, first) and internal.sessions[-1][1] is False  # a first turn
