"""Claude stream → OpenAI stream behaviour beyond the conformance cases."""

from __future__ import annotations

from services.proxy_service.formats.client_format import OPENAI
from tests.unit.proxy_service.formats._sse import DONE, claude_sse, parse_openai, to_openai

START = {"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 5}}}
TEXT = [
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
    {"type": "content_block_stop", "index": 0},
]
FINISH = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}


def deltas(chunks: list) -> list:
    return [c["choices"][0]["delta"] for c in chunks if c != DONE and c.get("choices")]


def test_an_error_event_becomes_an_error_chunk_and_no_done() -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    chunks = parse_openai(to_openai(claude_sse(START, *TEXT, error)))
    assert chunks[-1] == {
        "error": {"message": "Overloaded", "type": "server_error", "param": None, "code": None}
    }
    assert DONE not in chunks


def test_an_end_before_message_delta_is_reported_not_finished() -> None:
    out = to_openai(claude_sse(START, *TEXT))
    assert out.endswith(OPENAI.stream_error) and b"[DONE]" not in out


def test_an_end_after_message_delta_without_message_stop_still_finishes() -> None:
    chunks = parse_openai(to_openai(claude_sse(START, *TEXT, FINISH)))
    assert chunks[-1] == DONE and chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_a_tool_without_arguments_gets_an_empty_object() -> None:
    tool = [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t1", "name": "now", "input": {}},
        },
        {"type": "content_block_stop", "index": 0},
    ]
    chunks = parse_openai(to_openai(claude_sse(START, *tool, FINISH, {"type": "message_stop"})))
    assert deltas(chunks)[1:3] == [
        {
            "tool_calls": [
                {"index": 0, "id": "t1", "type": "function", "function": {"name": "now", "arguments": ""}}
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
    ]


def test_a_tool_start_that_already_carries_its_input_sends_it_at_once() -> None:
    tool = [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t1", "name": "get", "input": {"q": 1}},
        },
        {"type": "content_block_stop", "index": 0},
    ]
    chunks = parse_openai(to_openai(claude_sse(START, *tool, FINISH, {"type": "message_stop"})))
    assert deltas(chunks)[1:] == [
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "t1",
                    "type": "function",
                    "function": {"name": "get", "arguments": '{"q":1}'},
                }
            ]
        },
        {},
    ]


def test_usage_counts_cached_tokens_in_the_prompt() -> None:
    start = {
        "type": "message_start",
        "message": {"id": "m", "usage": {"input_tokens": 5, "cache_read_input_tokens": 100}},
    }
    chunks = parse_openai(
        to_openai(claude_sse(start, *TEXT, FINISH, {"type": "message_stop"}), include_usage=True)
    )
    assert chunks[-2]["usage"] == {
        "prompt_tokens": 105,
        "completion_tokens": 2,
        "total_tokens": 107,
        "prompt_tokens_details": {"cached_tokens": 100},
    }


def test_the_client_model_is_in_every_chunk() -> None:
    chunks = parse_openai(
        to_openai(claude_sse(START, *TEXT, FINISH, {"type": "message_stop"}), model="my-alias")
    )
    assert {c["model"] for c in chunks if c != DONE} == {"my-alias"}
