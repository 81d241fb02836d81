"""conversion.md §7 cases 27–43: an OpenAI stream converted to a Claude stream (exact events).

Every case runs twice: with the upstream's events as separate reads, and with the same bytes split
into one-byte reads (inside multi-byte characters, between `data:` and the JSON); both must give the
exact expected event list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from services.proxy_service.formats.client_format import CLAUDE
from tests.unit.proxy_service.formats._sse import (
    CLIENT_MODEL,
    DONE,
    MESSAGE_ID,
    call,
    delta,
    openai_sse,
    parse_claude,
    split_every,
    to_claude,
    usage_chunk,
)

ZERO = {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
START = {
    "type": "message_start",
    "message": {
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": CLIENT_MODEL,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": ZERO,
    },
}
MESSAGE_STOP = {"type": "message_stop"}


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def text_start(index: int) -> dict[str, Any]:
    return block_start(index, {"type": "text", "text": ""})


def thinking_start(index: int) -> dict[str, Any]:
    return block_start(index, {"type": "thinking", "thinking": ""})


def tool_start(index: int, id: str, name: str) -> dict[str, Any]:
    return block_start(index, {"type": "tool_use", "id": id, "name": name, "input": {}})


def block_delta(index: int, **delta: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def text(index: int, value: str) -> dict[str, Any]:
    return block_delta(index, type="text_delta", text=value)


def thinking(index: int, value: str) -> dict[str, Any]:
    return block_delta(index, type="thinking_delta", thinking=value)


def json_part(index: int, value: str) -> dict[str, Any]:
    return block_delta(index, type="input_json_delta", partial_json=value)


def stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def end(stop_reason: str, **usage: int) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": {**ZERO, **usage},
    }


def error(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


INTERRUPTED = parse_claude(CLAUDE.stream_error)[0]


@dataclass
class Case:
    id: str
    reads: list[bytes]
    expected: list[dict[str, Any]]
    await_usage: bool = False


CASES = [
    Case(
        "27",
        openai_sse(
            delta(content="Hel"),
            delta(content="lo"),
            delta(finish_reason="stop"),
            usage_chunk(10, 2),
            DONE,
        ),
        [
            START,
            text_start(0),
            text(0, "Hel"),
            text(0, "lo"),
            stop(0),
            end("end_turn", input_tokens=10, output_tokens=2),
            MESSAGE_STOP,
        ],
        await_usage=True,
    ),
    Case(
        "28",
        openai_sse(
            delta(role="assistant", tool_calls=[call(0, id="call_1", name="get", arguments="")]),
            delta(tool_calls=[call(0, arguments='{"q":')]),
            delta(tool_calls=[call(0, arguments='"a"}')]),
            delta(finish_reason="tool_calls"),
            DONE,
        ),
        [
            START,
            tool_start(0, "call_1", "get"),
            json_part(0, '{"q":'),
            json_part(0, '"a"}'),
            stop(0),
            end("tool_use"),
            MESSAGE_STOP,
        ],
    ),
    Case(
        "29",
        openai_sse(
            delta(tool_calls=[call(0, id="call_1", name="get", arguments='{"q":"a"}')]),
            delta(finish_reason="tool_calls"),
            DONE,
        ),
        [
            START,
            tool_start(0, "call_1", "get"),
            json_part(0, '{"q":"a"}'),
            stop(0),
            end("tool_use"),
            MESSAGE_STOP,
        ],
    ),
    Case(
        "30",
        openai_sse(
            delta(content="Checking"),
            delta(tool_calls=[call(0, id="call_1", name="get", arguments="{}")]),
            delta(finish_reason="tool_calls"),
            DONE,
        ),
        [
            START,
            text_start(0),
            text(0, "Checking"),
            stop(0),
            tool_start(1, "call_1", "get"),
            json_part(1, "{}"),
            stop(1),
            end("tool_use"),
            MESSAGE_STOP,
        ],
    ),
    Case(
        "31",
        openai_sse(
            delta(tool_calls=[call(0, id="call_1", name="get", arguments="")]),
            delta(tool_calls=[call(0, arguments='{"q":')]),
            delta(tool_calls=[call(0, arguments='"a"}')]),
            delta(tool_calls=[call(1, id="call_2", name="put", arguments="")]),
            delta(tool_calls=[call(1, arguments='{"v":')]),
            delta(tool_calls=[call(1, arguments="1}")]),
            delta(finish_reason="tool_calls"),
            DONE,
        ),
        [
            START,
            tool_start(0, "call_1", "get"),
            json_part(0, '{"q":'),
            json_part(0, '"a"}'),
            stop(0),
            tool_start(1, "call_2", "put"),
            json_part(1, '{"v":'),
            json_part(1, "1}"),
            stop(1),
            end("tool_use"),
            MESSAGE_STOP,
        ],
    ),
    Case(
        "32",
        openai_sse(
            delta(tool_calls=[call(0, id="call_1", name="get", arguments="")]),
            delta(tool_calls=[call(1, id="call_2", name="put", arguments="")]),
            delta(
                tool_calls=[call(0, arguments='{"q":"a"}'), call(1, arguments='{"v":1}')],
                finish_reason="tool_calls",
            ),
            DONE,
        ),
        [
            START,
            tool_start(0, "call_1", "get"),
            json_part(0, '{"q":"a"}'),
            stop(0),
            tool_start(1, "call_2", "put"),
            json_part(1, '{"v":1}'),
            stop(1),
            end("tool_use"),
            MESSAGE_STOP,
        ],
    ),
    Case(
        "33",
        openai_sse(
            delta(tool_calls=[call(0, id="call_1", name="now")]),
            delta(finish_reason="tool_calls"),
            DONE,
        ),
        [START, tool_start(0, "call_1", "now"), json_part(0, "{}"), stop(0), end("tool_use"), MESSAGE_STOP],
    ),
    Case(
        "34",
        openai_sse(
            delta(reasoning_content="Let me "),
            delta(reasoning_content="think"),
            delta(content="Answer"),
            delta(finish_reason="stop"),
            DONE,
        ),
        [
            START,
            thinking_start(0),
            thinking(0, "Let me "),
            thinking(0, "think"),
            stop(0),
            text_start(1),
            text(1, "Answer"),
            stop(1),
            end("end_turn"),
            MESSAGE_STOP,
        ],
    ),
    Case(
        "35-forced-tool",
        openai_sse(
            delta(tool_calls=[call(0, id="call_1", name="get", arguments="{}")]),
            delta(finish_reason="stop"),
            DONE,
        ),
        [START, tool_start(0, "call_1", "get"), json_part(0, "{}"), stop(0), end("tool_use"), MESSAGE_STOP],
    ),
    Case(
        "35-length",
        openai_sse(delta(content="a"), delta(finish_reason="length"), DONE),
        [START, text_start(0), text(0, "a"), stop(0), end("max_tokens"), MESSAGE_STOP],
    ),
    Case(
        "35-content-filter",
        openai_sse(delta(content="a"), delta(finish_reason="content_filter"), DONE),
        [START, text_start(0), text(0, "a"), stop(0), end("refusal"), MESSAGE_STOP],
    ),
    Case(
        "36",
        openai_sse(
            delta(content="a"),
            delta(finish_reason="stop"),
            usage_chunk(7, 3),
            DONE,
        ),
        [
            START,
            text_start(0),
            text(0, "a"),
            stop(0),
            end("end_turn", input_tokens=7, output_tokens=3),
            MESSAGE_STOP,
        ],
        await_usage=True,
    ),
    Case(
        "37",
        openai_sse(delta(content="a"), delta(finish_reason="stop"), usage_chunk(100, 5, cached=80), DONE),
        [
            START,
            text_start(0),
            text(0, "a"),
            stop(0),
            end("end_turn", input_tokens=20, output_tokens=5, cache_read_input_tokens=80),
            MESSAGE_STOP,
        ],
        await_usage=True,
    ),
    Case(
        "38",
        openai_sse(delta(content="all at once", finish_reason="stop"), DONE),
        [START, text_start(0), text(0, "all at once"), stop(0), end("end_turn"), MESSAGE_STOP],
    ),
    Case(
        "39",
        openai_sse(delta(content="Hi", tool_calls=[]), delta(finish_reason="stop"), DONE),
        [START, text_start(0), text(0, "Hi"), stop(0), end("end_turn"), MESSAGE_STOP],
    ),
    Case(
        "40",
        [
            b'data: {"choices":[],"prompt_filter_results":[{"prompt_index":0}]}\n\n',
            b": OPENROUTER PROCESSING\n\n",
            *openai_sse(delta(content="ok"), delta(finish_reason="stop"), DONE),
        ],
        [START, text_start(0), text(0, "ok"), stop(0), end("end_turn"), MESSAGE_STOP],
    ),
    Case(
        "41",
        # "你" is three bytes: the first read ends after its first byte.
        (lambda raw: [raw[: raw.index("你".encode()) + 1], raw[raw.index("你".encode()) + 1 :]])(
            b"".join(openai_sse(delta(content="你好"), delta(finish_reason="stop"), DONE))
        ),
        [START, text_start(0), text(0, "你好"), stop(0), end("end_turn"), MESSAGE_STOP],
    ),
    Case(
        "42-error-chunk",
        [
            *openai_sse(delta(content="par")),
            b'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n',
            *openai_sse(delta(content="never seen")),
        ],
        [START, text_start(0), text(0, "par"), stop(0), error("api_error", "overloaded")],
    ),
    Case(
        "42-eof-before-finish",
        openai_sse(delta(content="par")),
        [START, text_start(0), text(0, "par"), stop(0), INTERRUPTED],
    ),
    Case(
        "43",
        openai_sse(
            delta(tool_calls=[call(0, id="call_1", name="get", arguments='{"q":"a"}')]),
            delta(tool_calls=[call(0, id="call_2", name="get", arguments='{"q":"b"}')]),
            delta(finish_reason="tool_calls"),
            DONE,
        ),
        [
            START,
            tool_start(0, "call_1", "get"),
            json_part(0, '{"q":"a"}'),
            stop(0),
            tool_start(1, "call_2", "get"),
            json_part(1, '{"q":"b"}'),
            stop(1),
            end("tool_use"),
            MESSAGE_STOP,
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"case-{c.id}" for c in CASES])
def test_openai_stream_converts_exactly(case: Case) -> None:
    assert parse_claude(to_claude(case.reads, await_usage=case.await_usage)) == case.expected


@pytest.mark.parametrize("case", CASES, ids=[f"case-{c.id}" for c in CASES])
def test_openai_stream_converts_the_same_when_split_at_every_byte(case: Case) -> None:
    reads = split_every(b"".join(case.reads), 1)
    assert parse_claude(to_claude(reads, await_usage=case.await_usage)) == case.expected
