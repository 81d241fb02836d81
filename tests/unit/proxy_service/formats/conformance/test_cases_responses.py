"""conversion.md §7 cases 44–46: non-streaming answers both ways, and a Claude stream for an OpenAI
client (exact output)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from services.proxy_service.formats.claude_to_openai import convert_message
from services.proxy_service.formats.openai_to_claude import convert_completion
from services.proxy_service.formats.tool_names import ToolNameMap
from tests.unit.proxy_service.formats._sse import DONE, claude_sse, parse_openai, to_openai

USAGE = {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}
CLAUDE_USAGE = {
    "input_tokens": 12,
    "output_tokens": 4,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
}


def completion(message: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-2024",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish_reason}
        ],
        "usage": USAGE,
    }


def message(content: list[dict[str, Any]], stop_reason: str) -> dict[str, Any]:
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": CLAUDE_USAGE,
    }


def function_call(arguments: str) -> dict[str, Any]:
    return {"id": "call_1", "type": "function", "function": {"name": "get", "arguments": arguments}}


def tool_use(input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": "call_1", "name": "get", "input": input}


@dataclass
class Case:
    id: str
    answer: dict[str, Any]
    expected: dict[str, Any]


OPENAI_ANSWERS = [
    Case(
        "44",
        completion({"content": "ok", "tool_calls": [function_call('{"q":"a"}')]}, "tool_calls"),
        message([{"type": "text", "text": "ok"}, tool_use({"q": "a"})], "tool_use"),
    ),
    Case(
        "44-empty-text",
        completion({"content": "", "tool_calls": [function_call('{"q":"a"}')]}, "tool_calls"),
        message([tool_use({"q": "a"})], "tool_use"),
    ),
    Case(
        "44-cut-arguments-repaired",
        completion({"content": None, "tool_calls": [function_call('{"q":"a')]}, "tool_calls"),
        message([tool_use({"q": "a"})], "tool_use"),
    ),
    Case(
        "44-unreadable-arguments",
        completion({"content": None, "tool_calls": [function_call("not json")]}, "tool_calls"),
        message([tool_use({})], "tool_use"),
    ),
]


@pytest.mark.parametrize("case", OPENAI_ANSWERS, ids=[f"case-{c.id}" for c in OPENAI_ANSWERS])
def test_openai_answer_converts_exactly(case: Case) -> None:
    converted = convert_completion(
        case.answer, model="claude-sonnet-4", message_id="msg_test", names=ToolNameMap(), thinking=True
    )
    assert converted == case.expected


def test_case_45_claude_answer_converts_exactly() -> None:
    answer = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-upstream",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "text", "text": "a"},
            {"type": "text", "text": "b"},
            {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {"q": "a"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "output_tokens": 5,
            "cache_read_input_tokens": 30,
            "cache_creation_input_tokens": 2,
        },
    }
    assert convert_message(answer, model="gpt-4o", created=1700000000) == {
        "id": "msg_1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "ab",
                    "reasoning_content": "hmm",
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "get", "arguments": '{"q":"a"}'},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 42,
            "completion_tokens": 5,
            "total_tokens": 47,
            "prompt_tokens_details": {"cached_tokens": 30, "cache_creation_tokens": 2},
        },
    }


def claude_stream(*blocks: tuple[dict[str, Any], list[dict[str, Any]]], stop_reason: str) -> list[bytes]:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-upstream",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 9, "output_tokens": 1},
            },
        }
    ]
    for index, (block, deltas) in enumerate(blocks):
        events.append({"type": "content_block_start", "index": index, "content_block": block})
        if index == 0:
            events.append({"type": "ping"})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": 6},
        }
    )
    events.append({"type": "message_stop"})
    return claude_sse(*events)


def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


THINKING = (
    {"type": "thinking", "thinking": ""},
    [{"type": "thinking_delta", "thinking": "hmm"}, {"type": "signature_delta", "signature": "sig"}],
)
TEXT = ({"type": "text", "text": ""}, [{"type": "text_delta", "text": "ok"}])
TOOL = (
    {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {}},
    [
        {"type": "input_json_delta", "partial_json": ""},
        {"type": "input_json_delta", "partial_json": '{"q":"a"}'},
    ],
)


def test_case_46_tool_calls_are_numbered_from_zero_after_thinking_and_text() -> None:
    out = to_openai(claude_stream(THINKING, TEXT, TOOL, stop_reason="tool_use"), include_usage=True)
    assert parse_openai(out) == [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "hmm"}),
        chunk({"content": "ok"}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "toolu_1",
                        "type": "function",
                        "function": {"name": "get", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"q":"a"}'}}]}),
        chunk({}, "tool_calls"),
        {
            "id": "msg_1",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-4o",
            "choices": [],
            "usage": {
                "prompt_tokens": 9,
                "completion_tokens": 6,
                "total_tokens": 15,
                "prompt_tokens_details": {"cached_tokens": 0},
            },
        },
        DONE,
    ]


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("stop_sequence", "stop"),
        ("something_new", "stop"),
    ],
    ids=lambda v: str(v),
)
def test_case_46_stop_reasons_map_to_known_finish_reasons(stop_reason: str, finish_reason: str) -> None:
    out = to_openai(claude_stream(TEXT, stop_reason=stop_reason))
    assert parse_openai(out) == [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "ok"}),
        chunk({}, finish_reason),
        DONE,
    ]
