"""Whatever an upstream answers (odd shapes, wrong types), converting it never fails unexpectedly: a
stream still ends with either a real end or an error event, and a JSON answer either converts or,
when it cannot be read as an answer at all, raises `MalformedAnswer` (a 502 from that upstream)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.proxy_service.formats.claude_to_openai import convert_message
from services.proxy_service.formats.failures import MalformedAnswer
from services.proxy_service.formats.openai_to_claude import convert_completion
from services.proxy_service.formats.tool_names import ToolNameMap
from tests.unit.proxy_service.formats._sse import parse_claude, parse_openai, to_claude, to_openai

WORDS = [
    "text",
    "tool_use",
    "thinking",
    "text_delta",
    "input_json_delta",
    "thinking_delta",
    "signature_delta",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_start",
    "message_delta",
    "message_stop",
    "error",
    "stop",
    "tool_calls",
    "length",
    "error",
    "x",
    "",
]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.sampled_from(WORDS))
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(WORDS), inner, max_size=3)
    ),
    max_leaves=6,
)


def loose(required: dict[str, Any], optional: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(required, optional=dict.fromkeys(optional, anything))


openai_delta = loose({}, ["content", "reasoning_content", "reasoning", "reasoning_details", "role"]).flatmap(
    lambda d: st.fixed_dictionaries(
        {},
        optional={
            "tool_calls": st.lists(
                loose({"index": st.one_of(st.integers(0, 2), anything)}, ["id", "function", "type"]),
                max_size=3,
            )
        },
    ).map(lambda extra: {**d, **extra})
)
openai_chunks = st.one_of(
    st.fixed_dictionaries(
        {
            "choices": st.lists(
                loose({"delta": st.one_of(openai_delta, anything)}, ["finish_reason", "error"]), max_size=2
            )
        },
        optional={"usage": anything, "error": anything},
    ),
    anything,
)
claude_events = st.one_of(
    loose(
        {"type": st.sampled_from(WORDS[7:14]), "index": st.one_of(st.integers(0, 2), anything)},
        ["delta", "content_block", "message", "usage", "error"],
    ),
    anything,
)


def sse(items: list[Any], *, named: bool) -> list[bytes]:
    out = []
    for item in items:
        name = (
            item.get("type")
            if named and isinstance(item, dict) and isinstance(item.get("type"), str)
            else "x"
        )
        out.append(b"event: " + name.encode() + b"\ndata: " + orjson.dumps(item) + b"\n\n")
    return out


@settings(max_examples=80, deadline=None)
@given(st.lists(openai_chunks, max_size=8), st.booleans())
def test_any_openai_stream_ends_with_an_end_or_an_error(chunks: list[Any], await_usage: bool) -> None:
    events = parse_claude(to_claude(sse(chunks, named=False), await_usage=await_usage))
    assert events[0]["type"] == "message_start"
    assert events[-1]["type"] in ("message_stop", "error")


@settings(max_examples=80, deadline=None)
@given(st.lists(claude_events, max_size=8), st.booleans())
def test_any_claude_stream_ends_with_done_or_an_error(events: list[Any], include_usage: bool) -> None:
    chunks = parse_openai(to_openai(sse(events, named=True), include_usage=include_usage))
    assert chunks[-1] == "[DONE]" or "error" in chunks[-1]


@settings(max_examples=80, deadline=None)
@given(
    st.one_of(
        loose(
            {
                "choices": st.lists(
                    loose({"message": st.one_of(openai_delta, anything)}, ["finish_reason"]), max_size=2
                )
            },
            ["usage"],
        ),
        anything,
    )
)
@example({"choices": [{"message": {"tool_calls": True}}]})
def test_any_openai_answer_converts_or_is_malformed(answer: Any) -> None:
    if isinstance(answer, dict):
        try:
            convert_completion(answer, model="m", message_id="msg_1", names=ToolNameMap(), thinking=True)
        except MalformedAnswer:
            pass


@pytest.mark.parametrize("calls", [True, "x", {"id": "c"}, 3])
def test_tool_calls_that_are_not_a_list_make_the_answer_malformed(calls: Any) -> None:
    answer = {"choices": [{"message": {"content": "Hi", "tool_calls": calls}}]}
    with pytest.raises(MalformedAnswer, match="tool_calls"):
        convert_completion(answer, model="m", message_id="msg_1", names=ToolNameMap(), thinking=True)


def test_absent_or_null_tool_calls_are_no_tool_calls() -> None:
    for message in ({"content": "Hi"}, {"content": "Hi", "tool_calls": None}):
        converted = convert_completion(
            {"choices": [{"message": message}]},
            model="m",
            message_id="msg_1",
            names=ToolNameMap(),
            thinking=True,
        )
        assert converted["content"] == [{"type": "text", "text": "Hi"}]


@settings(max_examples=80, deadline=None)
@given(
    st.one_of(
        loose(
            {
                "content": st.lists(
                    loose({"type": st.sampled_from(WORDS[:3])}, ["text", "thinking", "id", "name", "input"]),
                    max_size=3,
                )
            },
            ["id", "stop_reason", "usage"],
        ),
        anything,
    )
)
def test_any_claude_answer_converts(answer: Any) -> None:
    if isinstance(answer, dict):
        convert_message(answer, model="m", created=1)
