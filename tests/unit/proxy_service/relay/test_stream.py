from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest

from services.proxy_service.formats import CLAUDE, OPENAI, ClaudeClientToOpenAI, Passthrough
from services.proxy_service.formats.providers import provider_for
from services.proxy_service.relay.stream import RelayStream
from tests.unit.proxy_service.relay._fakes import WAIT_FOR_CLOSE, FakeUpstreamResponse, Recorder, make_attempt


async def run(stream: RelayStream, *, disconnect: bool = False) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if disconnect:
            await asyncio.sleep(0.01)
            return {"type": "http.disconnect"}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await stream({"type": "http"}, receive, send)
    return sent


def body_of(sent: list[dict[str, Any]]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


MESSAGE_START = (
    b'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-sonnet-4",'
    b'"usage":{"input_tokens":10,"output_tokens":1}}}\n\n'
)
MESSAGE_DELTA = b'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":7}}\n\n'


async def test_chunks_are_relayed_as_they_are_and_usage_recorded_once() -> None:
    recorder = Recorder()
    upstream = FakeUpstreamResponse([MESSAGE_START, MESSAGE_DELTA])
    stream = RelayStream(
        upstream, bridge=Passthrough("claude-sonnet-4", None), attempt=make_attempt(recorder, CLAUDE)
    )
    sent = await run(stream)
    assert sent[0]["type"] == "http.response.start"
    assert dict(sent[0]["headers"])[b"content-type"] == b"text/event-stream"
    assert [m["body"] for m in sent[1:3]] == [MESSAGE_START, MESSAGE_DELTA]
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert upstream.released and not upstream.closed
    [event] = recorder.events
    assert (event.outcome, event.status_code, event.input_tokens, event.output_tokens, event.stream) == (
        "success",
        200,
        10,
        7,
        True,
    )
    assert event.lease_id == "lease-acc-1" and event.model == "claude-sonnet-4"


@pytest.mark.parametrize(
    "exc",
    [aiohttp.ClientPayloadError("cut"), aiohttp.SocketTimeoutError("idle"), ConnectionResetError()],
)
async def test_a_broken_upstream_ends_with_an_anthropic_error_event(exc: BaseException) -> None:
    recorder = Recorder()
    upstream = FakeUpstreamResponse([MESSAGE_START, exc])
    stream = RelayStream(upstream, bridge=Passthrough("m", None), attempt=make_attempt(recorder, CLAUDE))
    body = body_of(await run(stream))
    assert body == MESSAGE_START + CLAUDE.stream_error
    assert body.endswith(
        b'event: error\ndata: {"type":"error","error":{"type":"api_error",'
        b'"message":"upstream stream interrupted"}}\n\n'
    )
    assert b"message_stop" not in body
    assert upstream.closed
    [event] = recorder.events
    assert event.outcome == "upstream_error"
    assert event.input_tokens == 10


async def test_a_broken_openai_stream_ends_with_an_openai_error_chunk_and_no_done() -> None:
    recorder = Recorder()
    chunk = b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
    upstream = FakeUpstreamResponse([chunk, aiohttp.ServerDisconnectedError()])
    stream = RelayStream(upstream, bridge=Passthrough("m", None), attempt=make_attempt(recorder, OPENAI))
    body = body_of(await run(stream))
    assert body == chunk + (
        b'data: {"error":{"message":"upstream stream interrupted","type":"upstream_error",'
        b'"param":null,"code":null}}\n\n'
    )
    assert b"[DONE]" not in body


async def test_a_break_mid_event_closes_the_partial_event_before_the_error() -> None:
    recorder = Recorder()
    upstream = FakeUpstreamResponse([b'data: {"choi', aiohttp.ClientPayloadError("cut")])
    stream = RelayStream(upstream, bridge=Passthrough("m", None), attempt=make_attempt(recorder, OPENAI))
    body = body_of(await run(stream))
    assert body == b'data: {"choi' + b"\n\n" + OPENAI.stream_error


async def test_a_client_that_disconnects_closes_the_upstream_and_records_cancelled() -> None:
    recorder = Recorder()
    upstream = FakeUpstreamResponse([MESSAGE_START, WAIT_FOR_CLOSE])
    stream = RelayStream(upstream, bridge=Passthrough("m", None), attempt=make_attempt(recorder, CLAUDE))
    body = body_of(await asyncio.wait_for(run(stream, disconnect=True), 2))
    assert upstream.closed
    assert b"error" not in body  # nobody is listening: no error event
    [event] = recorder.events
    assert event.outcome == "cancelled"


async def test_stream_model_is_rewritten_when_the_account_overrides_it() -> None:
    recorder = Recorder()
    upstream = FakeUpstreamResponse([MESSAGE_START.replace(b"claude-sonnet-4", b"claude-upstream")])
    bridge = Passthrough("claude-sonnet-4", "claude-upstream")
    stream = RelayStream(upstream, bridge=bridge, attempt=make_attempt(recorder, CLAUDE))
    assert body_of(await run(stream)) == MESSAGE_START


def converting_bridge() -> ClaudeClientToOpenAI:
    bridge = ClaudeClientToOpenAI("claude-sonnet-4", "gpt-4o", provider_for(None))
    body = {"model": "claude-sonnet-4", "max_tokens": 5, "messages": [], "stream": True}
    bridge.request_body(orjson.dumps(body), body)
    return bridge


OPENAI_TEXT = b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
OPENAI_FINISH = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
OPENAI_USAGE = b'data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2}}\n\ndata: [DONE]\n\n'


def event_types(body: bytes) -> list[str]:
    return [line[7:].decode() for line in body.split(b"\n") if line.startswith(b"event: ")]


async def test_a_converted_stream_starts_at_once_and_ends_with_the_upstream() -> None:
    recorder = Recorder()
    upstream = FakeUpstreamResponse([OPENAI_TEXT[:20], OPENAI_TEXT[20:], OPENAI_FINISH, OPENAI_USAGE])
    stream = RelayStream(upstream, bridge=converting_bridge(), attempt=make_attempt(recorder, CLAUDE))
    sent = await run(stream)
    assert sent[1]["body"].startswith(b"event: message_start\n")  # before any upstream byte
    assert all(m["body"] for m in sent[1:-1])  # a read that completes nothing sends nothing
    assert event_types(body_of(sent)) == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    [event] = recorder.events
    assert (event.outcome, event.input_tokens, event.output_tokens) == ("success", 4, 2)
    assert upstream.released


async def test_a_converted_stream_that_ends_before_finishing_ends_with_an_error_event() -> None:
    recorder = Recorder()
    upstream = FakeUpstreamResponse([OPENAI_TEXT])
    stream = RelayStream(upstream, bridge=converting_bridge(), attempt=make_attempt(recorder, CLAUDE))
    body = body_of(await run(stream))
    assert body.endswith(CLAUDE.stream_error) and b"message_stop" not in body
    [event] = recorder.events
    assert event.outcome == "upstream_error"
    assert upstream.closed


async def test_an_upstream_error_chunk_ends_the_converted_stream_without_reading_on() -> None:
    recorder = Recorder()
    error = b'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n'
    upstream = FakeUpstreamResponse([OPENAI_TEXT, error, WAIT_FOR_CLOSE])
    stream = RelayStream(upstream, bridge=converting_bridge(), attempt=make_attempt(recorder, CLAUDE))
    body = body_of(await asyncio.wait_for(run(stream), 2))
    assert event_types(body)[-1] == "error" and b"message_stop" not in body
    [event] = recorder.events
    assert event.outcome == "upstream_error"


async def test_a_stream_nobody_relays_is_closed_and_recorded_cancelled_once() -> None:
    recorder = Recorder()
    upstream = FakeUpstreamResponse([MESSAGE_START])
    stream = RelayStream(upstream, bridge=Passthrough("m", None), attempt=make_attempt(recorder, CLAUDE))
    stream.abandon()
    stream.abandon()
    assert upstream.closed
    assert [e.outcome for e in recorder.events] == ["cancelled"]


async def test_abandoning_a_relayed_stream_changes_nothing() -> None:
    recorder = Recorder()
    upstream = FakeUpstreamResponse([MESSAGE_START])
    stream = RelayStream(upstream, bridge=Passthrough("m", None), attempt=make_attempt(recorder, CLAUDE))
    await run(stream)
    stream.abandon()
    assert upstream.released and not upstream.closed
    assert [e.outcome for e in recorder.events] == ["success"]


async def test_the_body_can_be_relayed_into_a_response_started_elsewhere() -> None:
    recorder = Recorder()
    upstream = FakeUpstreamResponse([MESSAGE_START, MESSAGE_DELTA])
    stream = RelayStream(upstream, bridge=Passthrough("m", None), attempt=make_attempt(recorder, CLAUDE))
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await stream.send_body(receive, send)
    assert all(m["type"] == "http.response.body" for m in sent)
    assert body_of(sent) == MESSAGE_START + MESSAGE_DELTA
    assert [e.outcome for e in recorder.events] == ["success"]


async def test_a_relayed_error_event_fails_the_attempt_with_its_redacted_excerpt() -> None:
    recorder = Recorder()
    error = (
        b'event: error\ndata: {"type":"error","error":{"type":"permission_error",'
        b'"message":"org of ops@example.com suspended"}}\n\n'
    )
    upstream = FakeUpstreamResponse([MESSAGE_START, error])
    stream = RelayStream(
        upstream, bridge=Passthrough("claude-sonnet-4", None), attempt=make_attempt(recorder, CLAUDE)
    )
    sent = await run(stream)
    assert error in body_of(sent)  # relayed as the upstream sent it
    [event] = recorder.events
    assert event.outcome == "upstream_error" and event.status_code == 200
    assert "suspended" in event.error_excerpt and "ops@example.com" not in event.error_excerpt


async def test_a_converted_stream_records_the_upstream_error_chunk_as_its_excerpt() -> None:
    recorder = Recorder()
    chunk = b'data: {"error":{"message":"quota for this key is gone","type":"insufficient_quota"}}\n\n'
    upstream = FakeUpstreamResponse([chunk])
    stream = RelayStream(upstream, bridge=converting_bridge(), attempt=make_attempt(recorder, CLAUDE))
    await run(stream)
    [event] = recorder.events
    assert event.outcome == "upstream_error" and "quota for this key is gone" in event.error_excerpt


async def test_a_healthy_stream_has_no_excerpt() -> None:
    recorder = Recorder()
    stream = RelayStream(
        FakeUpstreamResponse([MESSAGE_START, MESSAGE_DELTA]),
        bridge=Passthrough("claude-sonnet-4", None),
        attempt=make_attempt(recorder, CLAUDE),
    )
    await run(stream)
    assert recorder.events[0].error_excerpt is None
