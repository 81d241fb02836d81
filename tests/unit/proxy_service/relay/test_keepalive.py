from __future__ import annotations

import asyncio

import orjson
import pytest
from starlette.responses import Response

from services.proxy_service.formats import CLAUDE, OPENAI, ClientFormat, Passthrough
from services.proxy_service.formats.errors import stream_error_event
from services.proxy_service.relay.keepalive import KeepAliveStream, ping_event
from services.proxy_service.relay.stream import RelayStream
from services.proxy_service.responses import JSON_CONTENT_TYPE, RawResponse
from tests.unit.proxy_service.relay._fakes import Client, FakeUpstreamResponse, Recorder, make_attempt

ANTHROPIC_PING = b'event: ping\ndata: {"type": "ping"}\n\n'
START = b'event: message_start\ndata: {"type":"message_start","message":{}}\n\n'
STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
AFTER_S, INTERVAL_S = 0.02, 0.03


def keepalive(answer, fmt: ClientFormat = CLAUDE) -> KeepAliveStream:
    return KeepAliveStream(answer, fmt=fmt, after_s=AFTER_S, interval_s=INTERVAL_S)


async def later(response: Response, delay_s: float) -> tuple[Response, str]:
    await asyncio.sleep(delay_s)
    return response, "custom_api"


def error(status: int, body: dict) -> RawResponse:
    return RawResponse(orjson.dumps(body), status, [JSON_CONTENT_TYPE])


def test_pings_in_each_clients_format() -> None:
    assert ping_event(CLAUDE) == ANTHROPIC_PING
    assert ping_event(OPENAI) == b": ping\n\n"  # an SSE comment: SDKs skip it


async def test_an_answer_before_the_first_ping_is_sent_as_it_is() -> None:
    client = Client()
    body = {"type": "error", "error": {"type": "authentication_error", "message": "invalid API key"}}
    await client.run(keepalive(later(error(401, body), 0)))
    [start] = client.starts
    assert start["status"] == 401
    assert orjson.loads(client.body) == body


@pytest.mark.parametrize(("fmt", "ping"), [(CLAUDE, ANTHROPIC_PING), (OPENAI, b": ping\n\n")])
async def test_a_slow_upstream_is_pinged_then_relayed_into_the_same_stream(
    fmt: ClientFormat, ping: bytes
) -> None:
    recorder = Recorder()
    upstream = FakeUpstreamResponse([START, STOP])
    relay = RelayStream(upstream, bridge=Passthrough("m", None), attempt=make_attempt(recorder, fmt))
    client = Client()
    await client.run(keepalive(later(relay, 0.1), fmt))
    [start] = client.starts
    assert start["status"] == 200 and dict(start["headers"])[b"content-type"] == b"text/event-stream"
    pings, rest = client.body.split(START, 1)
    assert pings == ping * (len(pings) // len(ping)) and len(pings) >= 2 * len(ping)
    assert rest == STOP
    assert client.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert [e.outcome for e in recorder.events] == ["success"]


async def test_a_failure_after_pings_ends_the_anthropic_stream_with_its_error() -> None:
    client = Client()
    failure = error(
        429,
        {
            "type": "error",
            "error": {"type": "rate_limit_error", "message": "slow down"},
            "request_id": "req_1",
        },
    )
    await client.run(keepalive(later(failure, 0.05)))
    assert client.starts[0]["status"] == 200
    assert client.body.startswith(ANTHROPIC_PING)
    assert client.body.endswith(
        b'\n\nevent: error\ndata: {"type":"error",'
        b'"error":{"type":"rate_limit_error","message":"slow down"}}\n\n'
    )
    assert b"message_stop" not in client.body
    assert client.sent[-1]["more_body"] is False


async def test_a_failure_after_pings_ends_the_openai_stream_with_its_error_and_no_done() -> None:
    client = Client()
    detail = {
        "message": "Rate limit reached",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    await client.run(keepalive(later(error(429, {"error": detail}), 0.05), OPENAI))
    assert client.body.startswith(b": ping\n\n")
    last = client.body.split(b"\n\n")[-2]
    assert orjson.loads(last.removeprefix(b"data: ")) == {"error": detail}
    assert b"[DONE]" not in client.body


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (CLAUDE, {"type": "error", "error": {"type": "api_error", "message": "<html>bad gateway</html>"}}),
        (
            OPENAI,
            {
                "error": {
                    "message": "<html>bad gateway</html>",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
        ),
    ],
)
def test_an_error_that_is_not_json_is_typed_by_its_status(fmt: ClientFormat, expected: dict) -> None:
    event = stream_error_event(fmt, 502, b"<html>bad gateway</html>\n")
    assert event.endswith(b"\n\n") and event.count(b"\n") == (3 if fmt is CLAUDE else 2)
    assert orjson.loads(event.split(b"data: ", 1)[1]) == expected


def test_an_error_spread_over_lines_stays_one_data_line() -> None:
    body = b'{\n  "error": {\n    "message": "overloaded",\n    "type": "server_error"\n  }\n}'
    expected = b'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n'
    assert stream_error_event(OPENAI, 503, body) == expected


async def test_a_client_that_leaves_while_pinged_cancels_the_pending_answer() -> None:
    cancelled = asyncio.Event()

    async def never() -> Response:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("unreachable")

    client = Client(leave_after_s=0.08)
    await asyncio.wait_for(client.run(keepalive(never())), 2)
    assert cancelled.is_set()
    assert client.body.startswith(ANTHROPIC_PING) and b"error" not in client.body


async def test_an_upstream_found_after_the_response_was_given_up_is_dropped() -> None:
    # The server gives up on the response (shutdown, a stuck client) while pinging; meanwhile the
    # loop found an upstream that nobody will relay now.
    recorder = Recorder()
    upstream = FakeUpstreamResponse([START, STOP])
    relay = RelayStream(upstream, bridge=Passthrough("m", None), attempt=make_attempt(recorder, CLAUDE))
    client = Client()

    async def stuck_send(message: dict) -> None:
        if message["type"] == "http.response.body":
            await asyncio.Event().wait()

    response = keepalive(later(relay, 0.05))
    running = asyncio.ensure_future(response({"type": "http"}, client.receive, stuck_send))
    await asyncio.sleep(0.1)
    running.cancel()
    await asyncio.wait((running,))
    assert upstream.closed
    assert [e.outcome for e in recorder.events] == ["cancelled"]
