from __future__ import annotations

from itertools import pairwise
from typing import Any

import anthropic
import openai
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.proxy_service.formats.tool_names import ToolNameMap
from services.proxy_service.upstreams.kiro.events import KiroEvents
from services.proxy_service.upstreams.kiro.writers import ClaudeSse, MessageCollector, OpenAIChunks
from tests.unit.proxy_service.upstreams.kiro._frames import (
    DONE,
    check_claude,
    claude_sdk_message,
    error,
    event,
    exception,
    openai_chunks,
    openai_sdk_completion,
    parse_claude,
    text,
    tool,
)

INPUT_ESTIMATE = 42
WINDOW = 200_000


def claude(*, thinking: bool = False, names: ToolNameMap | None = None, window: int = WINDOW):
    writer = ClaudeSse(model="claude-sonnet-4", message_id="msg_kiro")
    events = KiroEvents(
        writer, names=names or ToolNameMap(), thinking=thinking, input_tokens=INPUT_ESTIMATE, window=window
    )
    return writer, events


def run_claude(
    *frames: bytes, thinking: bool = False, names: ToolNameMap | None = None
) -> tuple[bytes, KiroEvents]:
    writer, events = claude(thinking=thinking, names=names)
    for frame in frames:
        events.feed(frame)
    events.end()
    return b"".join(writer.out), events


def run_openai(
    *frames: bytes, include_usage: bool = True, thinking: bool = False
) -> tuple[bytes, KiroEvents]:
    writer = OpenAIChunks(
        model="claude-sonnet-4",
        created=1700000000,
        completion_id="chatcmpl-kiro",
        include_usage=include_usage,
    )
    events = KiroEvents(
        writer, names=ToolNameMap(), thinking=thinking, input_tokens=INPUT_ESTIMATE, window=WINDOW
    )
    for frame in frames:
        events.feed(frame)
    events.end()
    return b"".join(writer.out), events


def run_collector(*frames: bytes, thinking: bool = False) -> MessageCollector:
    collector = MessageCollector(model="claude-sonnet-4", message_id="msg_kiro")
    events = KiroEvents(
        collector, names=ToolNameMap(), thinking=thinking, input_tokens=INPUT_ESTIMATE, window=WINDOW
    )
    for frame in frames:
        events.feed(frame)
    events.end()
    return collector


def final(out: bytes) -> dict[str, Any]:
    """The message_delta of a checked Claude stream."""
    return next(e for e in check_claude(out) if e["type"] == "message_delta")


def last_error(out: bytes) -> dict[str, Any]:
    events = check_claude(out)
    assert events[-1]["type"] == "error"
    assert "message_stop" not in [e["type"] for e in events]
    return events[-1]["error"]


# --- text and thinking -------------------------------------------------------------------------------


def test_text_streams_as_one_text_block() -> None:
    out, events = run_claude(text("Hello"), text(", world"))

    deltas = [e["delta"]["text"] for e in check_claude(out) if e["type"] == "content_block_delta"]
    assert deltas == ["Hello", ", world"]
    message = claude_sdk_message(out)
    assert [(b.type, b.text) for b in message.content] == [("text", "Hello, world")]
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == INPUT_ESTIMATE
    assert message.usage.output_tokens > 0
    assert events.ended and not events.failed


def test_the_message_start_carries_the_request_estimate_and_is_sent_once() -> None:
    writer, events = claude()
    events.start()
    events.start()
    events.feed(text("x"))

    starts = [e for e in parse_claude(b"".join(writer.out)) if e["type"] == "message_start"]
    assert len(starts) == 1
    assert starts[0]["message"]["usage"]["input_tokens"] == INPUT_ESTIMATE
    assert starts[0]["message"]["id"] == "msg_kiro"


def test_text_is_written_as_each_event_arrives() -> None:
    writer, events = claude()
    events.feed(text("first"))

    assert [e["type"] for e in parse_claude(b"".join(writer.out))][-1] == "content_block_delta"


def test_thinking_tags_become_a_thinking_block_before_the_text() -> None:
    out, _ = run_claude(
        text("<thinking>Let me"), text(" see.</thi"), text("nking>\n\nIt is 4."), thinking=True
    )

    message = claude_sdk_message(out)
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == "Let me see."
    assert message.content[1].text == "It is 4."


def test_without_thinking_the_tags_stay_text() -> None:
    out, _ = run_claude(text("<thinking>x</thinking>y"), thinking=False)

    assert [(b.type, b.text) for b in claude_sdk_message(out).content] == [
        ("text", "<thinking>x</thinking>y")
    ]


def test_a_held_partial_tag_is_written_at_the_end() -> None:
    out, _ = run_claude(text("<thin"), thinking=True)

    assert [(b.type, b.text) for b in claude_sdk_message(out).content] == [("text", "<thin")]


def test_native_reasoning_events_become_thinking_with_their_signature() -> None:
    out, _ = run_claude(
        event("reasoningContentEvent", {"text": "hmm"}),
        event("reasoningContentEvent", {"text": " ok", "signature": "sig-1"}),
        text("Answer"),
    )

    events = check_claude(out)
    assert {"type": "signature_delta", "signature": "sig-1"} in [e.get("delta") for e in events]
    message = claude_sdk_message(out)
    assert message.content[0].type == "thinking"
    assert (message.content[0].thinking, message.content[0].signature) == ("hmm ok", "sig-1")
    assert message.content[1].text == "Answer"


def test_a_signature_with_no_thinking_block_open_is_dropped() -> None:
    out, _ = run_claude(text("a"), event("reasoningContentEvent", {"signature": "lost"}))

    assert b"signature_delta" not in out
    check_claude(out)


@pytest.mark.parametrize(
    "frame",
    [
        event("initial-response", {"conversationId": "c"}),
        event("meteringEvent", {"unit": "credit", "usage": 0.02}),
        event("followupPromptEvent", {"followupPrompt": {"content": "more?"}}),
        event("assistantResponseEvent", b"not json"),
        event("assistantResponseEvent", [1, 2]),
        event("assistantResponseEvent", {"content": 5}),
        event("someFutureEvent", {"content": "ignored"}),
    ],
)
def test_events_with_nothing_to_relay_are_ignored(frame: bytes) -> None:
    out, events = run_claude(text("kept"), frame)

    message = claude_sdk_message(out)
    assert [(b.type, b.text) for b in message.content] == [("text", "kept")]
    assert not events.failed


def test_an_empty_answer_still_ends_normally() -> None:
    out, events = run_claude()

    assert [e["type"] for e in check_claude(out)] == ["message_start", "message_delta", "message_stop"]
    assert not events.failed


# --- tool calls --------------------------------------------------------------------------------------


def test_tool_input_streams_as_fragments_before_the_tool_stops() -> None:
    writer, events = claude()
    events.feed(tool("toolu_1", "get_weather", '{"city": '))

    so_far = parse_claude(b"".join(writer.out))
    assert so_far[-2]["content_block"] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "get_weather",
        "input": {},
    }
    assert so_far[-1]["delta"] == {"type": "input_json_delta", "partial_json": '{"city": '}

    events.feed(tool("toolu_1", "get_weather", '"Paris"}'))
    assert parse_claude(b"".join(writer.out))[-1]["delta"]["partial_json"] == '"Paris"}'

    events.feed(tool("toolu_1", "get_weather", stop=True))
    events.end()
    out = b"".join(writer.out)
    message = claude_sdk_message(out)
    assert [(b.type, b.id, b.name, b.input) for b in message.content] == [
        ("tool_use", "toolu_1", "get_weather", {"city": "Paris"})
    ]
    assert message.stop_reason == "tool_use"


def test_text_then_several_tools_get_increasing_indices() -> None:
    out, _ = run_claude(
        text("Checking both."),
        tool("a", "read", '{"path":"/x"}'),
        tool("a", "read", stop=True),
        tool("b", "list", '{"dir":'),
        tool("b", "list", '"/"}', stop=True),
    )

    starts = [e for e in check_claude(out) if e["type"] == "content_block_start"]
    assert [(e["index"], e["content_block"]["type"]) for e in starts] == [
        (0, "text"),
        (1, "tool_use"),
        (2, "tool_use"),
    ]
    message = claude_sdk_message(out)
    assert [b.input for b in message.content[1:]] == [{"path": "/x"}, {"dir": "/"}]
    assert message.stop_reason == "tool_use"


def test_a_new_tool_id_closes_the_open_tool() -> None:
    out, _ = run_claude(tool("a", "one", "{}"), tool("b", "two", "{}", stop=True))

    message = claude_sdk_message(out)
    assert [(b.id, b.name) for b in message.content] == [("a", "one"), ("b", "two")]


def test_a_dict_input_is_sent_as_json_text() -> None:
    out, _ = run_claude(tool("a", "calc", {"x": 1, "y": [2]}, stop=True))

    fragments = [e["delta"]["partial_json"] for e in check_claude(out) if e["type"] == "content_block_delta"]
    assert [orjson.loads(f) for f in fragments] == [{"x": 1, "y": [2]}]
    assert claude_sdk_message(out).content[0].input == {"x": 1, "y": [2]}


@pytest.mark.parametrize("given", [{}, ""])
def test_an_empty_input_sends_no_fragment(given: Any) -> None:
    out, _ = run_claude(tool("a", "ping", given, stop=True))

    assert "content_block_delta" not in [e["type"] for e in check_claude(out)]
    assert claude_sdk_message(out).content[0].input == {}


def test_repeated_frames_of_a_stopped_tool_are_ignored() -> None:
    out, _ = run_claude(
        tool("a", "read", '{"p":1}', stop=True),
        tool("a", "read", '{"p":1}', stop=True),
        tool("a", "read", '{"p":1}'),
        text("done"),
    )

    message = claude_sdk_message(out)
    assert [b.type for b in message.content] == ["tool_use", "text"]
    assert message.content[0].input == {"p": 1}


@pytest.mark.parametrize("bad_id", [None, "", 7])
def test_a_tool_frame_without_an_id_is_ignored(bad_id: Any) -> None:
    payload = {"name": "x", "input": "{}", "stop": True}
    if bad_id is not None:
        payload["toolUseId"] = bad_id
    out, _ = run_claude(text("hi"), event("toolUseEvent", payload))

    assert [b.type for b in claude_sdk_message(out).content] == ["text"]


def test_tool_names_are_mapped_back_to_the_clients() -> None:
    names = ToolNameMap()
    long_name = "mcp__server__" + "very_long_tool_name_" * 4
    sent = names.upstream(long_name)

    out, _ = run_claude(tool("a", sent, "{}", stop=True), names=names)

    assert sent != long_name
    assert claude_sdk_message(out).content[0].name == long_name


def test_text_after_a_tool_opens_a_new_text_block() -> None:
    out, _ = run_claude(text("a"), tool("t", "x", "{}", stop=True), text("b"))

    assert [b.type for b in claude_sdk_message(out).content] == ["text", "tool_use", "text"]


# --- usage and stop reasons ---------------------------------------------------------------------------


def test_context_usage_gives_the_input_tokens_as_a_share_of_the_window() -> None:
    out, events = run_claude(text("hi"), event("contextUsageEvent", {"contextUsagePercentage": 12.5}))

    assert final(out)["usage"]["input_tokens"] == 25_000
    assert events.usage[0] == 25_000


def test_the_window_decides_the_context_usage_tokens() -> None:
    writer, events = claude(window=1_000_000)
    events.feed(event("contextUsageEvent", {"contextUsagePercentage": 1}))
    events.end()

    assert final(b"".join(writer.out))["usage"]["input_tokens"] == 10_000


@pytest.mark.parametrize("pct", [0, "50", True, None])
def test_no_usable_context_usage_keeps_the_request_estimate(pct: Any) -> None:
    out, _ = run_claude(text("hi"), event("contextUsageEvent", {"contextUsagePercentage": pct}))

    assert final(out)["usage"]["input_tokens"] == INPUT_ESTIMATE


def test_output_tokens_are_estimated_from_what_was_written() -> None:
    out, events = run_claude(text("one two three four five six seven eight nine ten"))

    assert 5 <= final(out)["usage"]["output_tokens"] <= 20
    assert events.usage == (INPUT_ESTIMATE, final(out)["usage"]["output_tokens"])


@pytest.mark.parametrize(
    ("event_type", "payload", "usage"),
    [
        (
            "messageMetadataEvent",
            {"tokenUsage": {"uncachedInputTokens": 100, "cacheReadInputTokens": 900, "outputTokens": 7}},
            {"input_tokens": 1000, "output_tokens": 7},
        ),
        ("metadataEvent", {"inputTokens": 11, "outputTokens": 3}, {"input_tokens": 11, "output_tokens": 3}),
    ],
)
def test_metadata_token_usage_gives_exact_counts(
    event_type: str, payload: dict, usage: dict[str, int]
) -> None:
    out, events = run_claude(
        text("hi"), event("contextUsageEvent", {"contextUsagePercentage": 50}), event(event_type, payload)
    )

    assert final(out)["usage"] == usage
    assert events.usage == (usage["input_tokens"], usage["output_tokens"])


def test_incomplete_metadata_is_ignored() -> None:
    out, _ = run_claude(text("hi"), event("metadataEvent", {"tokenUsage": {"outputTokens": 3}}))

    assert final(out)["usage"]["input_tokens"] == INPUT_ESTIMATE


@pytest.mark.parametrize(
    ("frames", "reason"),
    [
        ([text("hi")], "end_turn"),
        ([text("hi"), tool("a", "x", "{}", stop=True)], "tool_use"),
        ([text("cut he"), exception("ContentLengthExceededException")], "max_tokens"),
        (
            [text("hi"), event("contextUsageEvent", {"contextUsagePercentage": 100})],
            "model_context_window_exceeded",
        ),
        ([text("hi"), event("contextUsageEvent", {"contextUsagePercentage": 99.9})], "end_turn"),
        (
            [tool("a", "x", "{}", stop=True), exception("ContentLengthExceededException")],
            "tool_use",
        ),
        (
            [
                text("hi"),
                exception("ContentLengthExceededException"),
                event("contextUsageEvent", {"contextUsagePercentage": 100}),
            ],
            "max_tokens",
        ),
    ],
)
def test_stop_reasons(frames: list[bytes], reason: str) -> None:
    out, _ = run_claude(*frames)

    assert final(out)["delta"]["stop_reason"] == reason
    assert claude_sdk_message(out).stop_reason == reason


def test_content_after_a_length_exception_is_still_relayed() -> None:
    out, events = run_claude(text("a"), exception("ContentLengthExceededException"), text("b"))

    assert claude_sdk_message(out).content[0].text == "ab"
    assert not events.failed


# --- failures ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exception_type", "error_type"),
    [
        ("ContentLengthExceededException", "invalid_request_error"),
        ("ThrottlingException", "rate_limit_error"),
        ("InternalServerException", "api_error"),
    ],
)
def test_an_exception_before_content_is_an_error_event(exception_type: str, error_type: str) -> None:
    out, events = run_claude(exception(exception_type, "the reason"), text("never shown"))

    err = last_error(out)
    assert err["type"] == error_type
    assert "the reason" in err["message"]
    assert b"never shown" not in out
    assert events.failed and events.ended
    with pytest.raises(anthropic.APIStatusError):
        claude_sdk_message(out)


def test_an_exception_after_content_is_an_error_event_too() -> None:
    err = last_error(run_claude(text("partial"), exception("ServiceUnavailableException", "down"))[0])

    assert err == {"type": "api_error", "message": "ServiceUnavailableException: down"}


def test_an_exception_with_a_plain_text_payload_keeps_the_text() -> None:
    from services.proxy_service.upstreams.kiro.eventstream import encode_message

    frame = encode_message({":message-type": "exception", ":exception-type": "Oops"}, b"plain words")

    assert last_error(run_claude(frame)[0])["message"] == "Oops: plain words"


def test_an_error_frame_is_an_error_event() -> None:
    out, events = run_claude(text("a"), error("InternalFailure", "went wrong"))

    err = last_error(out)
    assert err["type"] == "api_error"
    assert "InternalFailure" in err["message"] and "went wrong" in err["message"]
    assert events.failed


def test_a_corrupted_byte_is_an_error_event_and_ends_the_stream() -> None:
    frame = bytearray(text("hello"))
    frame[-6] ^= 0x20
    writer, events = claude()
    events.feed(text("fine "))
    events.feed(bytes(frame))
    events.feed(text("after"))
    events.end()

    out = b"".join(writer.out)
    err = last_error(out)
    assert err["type"] == "api_error" and "broken event stream" in err["message"]
    assert b"after" not in out
    assert events.failed


def test_eof_inside_a_tool_call_is_an_error_never_a_normal_end() -> None:
    out, events = run_claude(text("calling"), tool("a", "write", '{"content": "half'))

    assert "inside a tool call" in last_error(out)["message"]
    assert events.failed


def test_eof_inside_a_frame_is_an_error() -> None:
    frame = text("hello")
    out, events = run_claude(text("a"), frame[:-3])

    assert "inside a frame" in last_error(out)["message"]
    assert events.failed


def test_nothing_is_written_after_the_end() -> None:
    writer, events = claude()
    events.feed(text("a"))
    events.end()
    size = len(writer.out)

    events.feed(text("late"))
    events.end()

    assert len(writer.out) == size


# --- the OpenAI writer -------------------------------------------------------------------------------


def test_openai_chunks_are_valid_and_carry_text_reasoning_and_usage() -> None:
    out, _ = run_openai(
        text("<thinking>why</thinking>\n\nBecause."),
        event("metadataEvent", {"inputTokens": 9, "outputTokens": 4}),
        thinking=True,
    )

    chunks = openai_chunks(out)
    assert chunks[-1] == DONE
    first = chunks[0]
    assert first.choices[0].delta.role == "assistant"
    assert {c.id for c in chunks[:-1]} == {"chatcmpl-kiro"}
    assert chunks[-2].usage.prompt_tokens == 9 and chunks[-2].usage.completion_tokens == 4
    completion = openai_sdk_completion(out)
    message = completion.choices[0].message
    assert message.content == "Because."
    assert message.reasoning_content == "why"
    assert completion.choices[0].finish_reason == "stop"


def test_openai_tool_calls_stream_with_indices_and_arguments_that_reassemble() -> None:
    out, _ = run_openai(
        text("Let me check."),
        tool("call_a", "read", '{"path":'),
        tool("call_a", "read", '"/etc"}', stop=True),
        tool("call_b", "ping", stop=True),
        tool("call_c", "calc", {"n": 2}, stop=True),
    )

    chunks = openai_chunks(out)
    arguments: dict[int, str] = {}
    for chunk in chunks[:-1]:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            arguments[call.index] = arguments.get(call.index, "") + (call.function.arguments or "")
    assert {i: orjson.loads(a) for i, a in arguments.items()} == {0: {"path": "/etc"}, 1: {}, 2: {"n": 2}}
    completion = openai_sdk_completion(out)
    calls = completion.choices[0].message.tool_calls
    assert [(c.id, c.function.name) for c in calls] == [
        ("call_a", "read"),
        ("call_b", "ping"),
        ("call_c", "calc"),
    ]
    assert completion.choices[0].finish_reason == "tool_calls"


def test_openai_without_include_usage_sends_no_usage_chunk() -> None:
    chunks = openai_chunks(run_openai(text("x"), include_usage=False)[0])

    assert all(c == DONE or c.usage is None for c in chunks)
    assert chunks[-2].choices[0].finish_reason == "stop"


@pytest.mark.parametrize(
    ("frames", "finish"),
    [
        ([text("a"), exception("ContentLengthExceededException")], "length"),
        ([text("a"), event("contextUsageEvent", {"contextUsagePercentage": 100})], "length"),
    ],
)
def test_openai_finish_reasons(frames: list[bytes], finish: str) -> None:
    chunks = openai_chunks(run_openai(*frames)[0])

    assert [c.choices[0].finish_reason for c in chunks[:-1] if c.choices] == [None, None, finish]


def test_openai_failure_is_an_error_chunk_and_no_done() -> None:
    out, _ = run_openai(text("a"), exception("ThrottlingException", "slow down"))

    chunks = openai_chunks(out)
    error_chunk = chunks[-1]
    assert DONE not in chunks
    assert [c.choices[0].finish_reason for c in chunks[:-1]] == [None, None]
    assert error_chunk["error"]["type"] == "rate_limit_error"
    assert "slow down" in error_chunk["error"]["message"]
    with pytest.raises(openai.APIError):
        openai_sdk_completion(out)


def test_a_prompt_too_long_in_the_stream_is_named_as_claude_code_expects() -> None:
    # Claude Code compacts the conversation on "prompt is too long" (and always streams).
    err = last_error(run_claude(exception("ContentLengthExceededException", "Input is too long."))[0])

    assert err["type"] == "invalid_request_error"
    assert err["message"].startswith("prompt is too long")
    assert "Input is too long." in err["message"]


def test_openai_context_too_long_error_has_the_context_code() -> None:
    out, _ = run_openai(exception("ContentLengthExceededException", "Input is too long."))

    error_chunk = openai_chunks(out)[-1]
    assert error_chunk["error"]["type"] == "invalid_request_error"
    assert error_chunk["error"]["code"] == "context_length_exceeded"
    assert "Input is too long." in error_chunk["error"]["message"]


# --- the collecting writer ---------------------------------------------------------------------------


def test_the_collector_builds_the_whole_message() -> None:
    collector = run_collector(
        text("<thinking>t</thinking>\n\nAnswer"),
        tool(
            "a",
            "read",
            '{"p":',
        ),
        tool("a", "read", "1}", stop=True),
        event("metadataEvent", {"inputTokens": 5, "outputTokens": 6}),
        thinking=True,
    )

    assert collector.error is None
    assert collector.message == {
        "id": "msg_kiro",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4",
        "content": [
            {"type": "thinking", "thinking": "t", "signature": ""},
            {"type": "text", "text": "Answer"},
            {"type": "tool_use", "id": "a", "name": "read", "input": {"p": 1}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 5,
            "output_tokens": 6,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }
    assert anthropic.types.Message.model_validate(collector.message).content[2].input == {"p": 1}


@pytest.mark.parametrize("arguments", ['{"broken', "[1, 2]"])
def test_the_collector_gives_an_empty_input_for_unusable_arguments(arguments: str) -> None:
    collector = run_collector(tool("a", "x", arguments, stop=True))

    assert collector.message is not None
    assert collector.message["content"][0]["input"] == {}


def test_the_collector_records_a_failure_instead_of_a_message() -> None:
    collector = run_collector(exception("ContentLengthExceededException", "Input is too long."))

    assert collector.message is None
    assert collector.error is not None and collector.error[0] == "invalid_request_error"


# --- properties --------------------------------------------------------------------------------------

_words = st.text(st.sampled_from("ab <>/\nthinkg"), min_size=1, max_size=10) | st.sampled_from(
    ["<thinking>", "</thinking>", "\n\n", "é€", "<think"]
)


@st.composite
def _tool_frames(draw: st.DrawFn) -> list[bytes]:
    tool_id = draw(st.sampled_from(["t1", "t2", "t3"]))
    name = draw(st.sampled_from(["read", "write"]))
    args = orjson.dumps(draw(st.dictionaries(st.sampled_from("xyz"), st.integers(0, 9), max_size=2))).decode()
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(args) - 1)), max_size=3)))
    fragments = [args[a:b] for a, b in pairwise([0, *cuts, len(args)])]
    frames = [tool(tool_id, name, fragments[0])] + [tool(tool_id, name, f) for f in fragments[1:]]
    if draw(st.booleans()):
        frames.append(tool(tool_id, name, stop=True))
        if draw(st.booleans()):
            frames.append(tool(tool_id, name, "{}", stop=True))  # a repeat after the stop
    return frames


_frame_groups = st.one_of(
    st.builds(lambda w: [text(w)], _words),
    _tool_frames(),
    st.builds(
        lambda t, s: [event("reasoningContentEvent", {"text": t, **({"signature": s} if s else {})})],
        _words,
        st.sampled_from(["", "sig"]),
    ),
    st.builds(lambda p: [event("contextUsageEvent", {"contextUsagePercentage": p})], st.floats(0, 120)),
    st.builds(
        lambda i, o: [event("metadataEvent", {"tokenUsage": {"uncachedInputTokens": i, "outputTokens": o}})],
        st.integers(0, 10_000),
        st.integers(0, 10_000),
    ),
    st.just([event("meteringEvent", {"usage": 0.1})]),
    st.just([event("assistantResponseEvent", b"{not json")]),
    st.builds(
        lambda n: [exception(n)], st.sampled_from(["ContentLengthExceededException", "ThrottlingException"])
    ),
    st.just([error("E500")]),
)
_streams = st.lists(_frame_groups, max_size=8).map(lambda groups: [f for g in groups for f in g])


def _writers() -> list[Any]:
    return [
        ClaudeSse(model="claude-sonnet-4", message_id="msg_p"),
        OpenAIChunks(model="claude-sonnet-4", created=1, completion_id="chatcmpl-p", include_usage=True),
        MessageCollector(model="claude-sonnet-4", message_id="msg_p"),
    ]


def _outputs(pieces: list[bytes], thinking: bool) -> list[Any]:
    results = []
    for writer in _writers():
        events = KiroEvents(writer, names=ToolNameMap(), thinking=thinking, input_tokens=7, window=WINDOW)
        for piece in pieces:
            events.feed(piece)
        events.end()
        if isinstance(writer, MessageCollector):
            results.append((writer.message, writer.error))
        else:
            results.append(b"".join(writer.out))
    return results


@settings(max_examples=250)
@given(frames=_streams, thinking=st.booleans(), data=st.data())
def test_frames_cut_at_any_byte_boundaries_give_the_same_client_output(
    frames: list[bytes], thinking: bool, data: st.DataObject
) -> None:
    stream = b"".join(frames)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(stream)), max_size=20)))
    pieces = [stream[a:b] for a, b in pairwise([0, *cuts, len(stream)])]

    whole = _outputs([stream], thinking)
    cut = _outputs(pieces, thinking)

    assert cut == whole
    claude_out, openai_out, (message, failure) = whole
    events = check_claude(claude_out)
    assert (events[-1]["type"] == "error") == (failure is not None) == (message is None)
    assert (openai_chunks(openai_out)[-1] == DONE) == (failure is None)


@settings(max_examples=250)
@given(frames=_streams.filter(bool), thinking=st.booleans(), data=st.data())
def test_any_flipped_byte_ends_the_stream_with_an_error(
    frames: list[bytes], thinking: bool, data: st.DataObject
) -> None:
    stream = bytearray(b"".join(frames))
    stream[data.draw(st.integers(0, len(stream) - 1))] ^= data.draw(st.integers(1, 255))
    cuts = sorted(data.draw(st.sets(st.integers(0, len(stream)), max_size=10)))
    pieces = [bytes(stream[a:b]) for a, b in pairwise([0, *cuts, len(stream)])]

    claude_out, openai_out, (message, failure) = _outputs(pieces, thinking)

    events = check_claude(claude_out)
    assert events[-1]["type"] == "error"
    assert "message_stop" not in [e["type"] for e in events]
    chunks = openai_chunks(openai_out)
    assert DONE not in chunks and "error" in chunks[-1]
    assert message is None and failure is not None
