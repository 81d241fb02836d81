"""OpenAI stream → Claude stream behaviour beyond the conformance cases."""

from __future__ import annotations

import pytest

from services.proxy_service.formats.tool_names import ToolNameMap
from tests.unit.proxy_service.formats._sse import (
    DONE,
    call,
    delta,
    openai_sse,
    parse_claude,
    to_claude,
    usage_chunk,
)


def kinds(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def test_reasoning_is_left_out_when_the_client_turned_thinking_off() -> None:
    reads = openai_sse(
        delta(reasoning_content="secret"), delta(content="a"), delta(finish_reason="stop"), DONE
    )
    events = parse_claude(to_claude(reads, thinking=False))
    assert [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"] == ["text"]


def test_a_real_openrouter_signature_is_passed_on_inside_the_thinking_block() -> None:
    details = [{"type": "reasoning.text", "text": "t", "signature": "sig-1"}]
    reads = openai_sse(
        delta(reasoning="t", reasoning_details=details), delta(content="a"), delta(finish_reason="stop")
    )
    events = parse_claude(to_claude(reads))
    assert events[2:4] == [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "t"}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "sig-1"},
        },
    ]


def test_an_openrouter_error_finish_ends_with_an_error_event() -> None:
    chunk = delta(content="par", finish_reason="error")
    chunk["choices"][0]["error"] = {"message": "provider died", "code": 502}
    events = parse_claude(to_claude(openai_sse(chunk)))
    assert events[-1] == {"type": "error", "error": {"type": "api_error", "message": "provider died"}}
    assert "message_stop" not in kinds(events)


@pytest.mark.parametrize("calls", [True, {"index": 0}, "call"])
def test_tool_calls_that_are_not_a_list_end_with_an_error_event(calls) -> None:
    events = parse_claude(to_claude(openai_sse(delta(content="par"), delta(tool_calls=calls), DONE)))
    assert events[-1]["type"] == "error"
    assert events[-1]["error"]["type"] == "api_error"
    assert "tool_calls" in events[-1]["error"]["message"]
    assert "message_stop" not in kinds(events)


def test_usage_on_the_finish_chunk_ends_the_message_at_once() -> None:
    chunk = delta(content="a", finish_reason="stop")
    chunk["usage"] = {"prompt_tokens": 3, "completion_tokens": 1}
    stream_end = parse_claude(to_claude(openai_sse(chunk), await_usage=True))[-2]
    assert stream_end["usage"]["input_tokens"] == 3


def test_done_without_a_finish_reason_is_a_normal_end() -> None:
    events = parse_claude(to_claude(openai_sse(delta(content="a"), DONE)))
    assert kinds(events)[-2:] == ["message_delta", "message_stop"]
    assert events[-2]["delta"]["stop_reason"] == "end_turn"


def test_eof_after_the_finish_is_a_normal_end_even_while_awaiting_usage() -> None:
    events = parse_claude(
        to_claude(openai_sse(delta(content="a"), delta(finish_reason="stop")), await_usage=True)
    )
    assert kinds(events)[-2:] == ["message_delta", "message_stop"]


def test_nothing_follows_the_end() -> None:
    reads = openai_sse(
        delta(content="a", finish_reason="stop"), usage_chunk(1, 1), DONE, delta(content="late")
    )
    events = parse_claude(to_claude(reads, await_usage=True))
    assert kinds(events).count("content_block_delta") == 1 and kinds(events)[-1] == "message_stop"


def test_tool_ids_are_cleaned_or_made_up_and_names_restored() -> None:
    names = ToolNameMap()
    sent = names.upstream("mcp.tool")
    reads = openai_sse(
        delta(tool_calls=[call(0, id="functions.Bash:0", name=sent, arguments="{}")]),
        delta(tool_calls=[{"index": 1, "function": {"name": "two", "arguments": "{}"}}]),
        delta(finish_reason="tool_calls"),
    )
    starts = [
        e["content_block"]
        for e in parse_claude(to_claude(reads, names=names))
        if e["type"] == "content_block_start"
    ]
    assert starts == [
        {"type": "tool_use", "id": "functions_Bash_0", "name": "mcp.tool", "input": {}},
        {"type": "tool_use", "id": "toolu_test_1", "name": "two", "input": {}},
    ]


def test_a_tool_named_only_later_is_held_back_and_written_whole() -> None:
    reads = openai_sse(
        delta(tool_calls=[{"index": 0, "id": "c1", "function": {"arguments": ""}}]),
        delta(tool_calls=[{"index": 0, "function": {"name": "late", "arguments": '{"a":1}'}}]),
        delta(finish_reason="tool_calls"),
    )
    events = parse_claude(to_claude(reads))
    assert events[1:4] == [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "c1", "name": "late", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"a":1}'},
        },
        {"type": "content_block_stop", "index": 0},
    ]


def test_held_back_arguments_that_were_cut_short_are_repaired() -> None:
    reads = openai_sse(
        delta(tool_calls=[call(0, id="c1", name="a", arguments="")]),
        delta(tool_calls=[call(1, id="c2", name="b", arguments='{"x": "cut')]),
        delta(finish_reason="tool_calls"),
    )
    deltas = [
        e["delta"]["partial_json"]
        for e in parse_claude(to_claude(reads))
        if e["type"] == "content_block_delta"
    ]
    assert deltas == ["{}", '{"x":"cut"}']


def test_text_after_tool_calls_closes_the_tool_section_first() -> None:
    reads = openai_sse(
        delta(tool_calls=[call(0, id="c1", name="a", arguments="")]),
        delta(tool_calls=[call(1, id="c2", name="b", arguments="{}")]),
        delta(content="and"),
        delta(finish_reason="tool_calls"),
    )
    events = parse_claude(to_claude(reads))
    starts = [(e["index"], e["content_block"]["type"]) for e in events if e["type"] == "content_block_start"]
    assert starts == [(0, "tool_use"), (1, "tool_use"), (2, "text")]


def test_a_line_that_never_ends_becomes_an_error(monkeypatch) -> None:
    from services.proxy_service.formats import sse

    monkeypatch.setattr(sse, "MAX_LINE_BYTES", 64)
    events = parse_claude(to_claude([b"data: " + b"x" * 100]))
    assert kinds(events) == ["message_start", "error"]
