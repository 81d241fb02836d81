"""Property tests: any valid stream, cut into reads at any bytes, converts to a valid stream of the
other API carrying the same text, reasoning and tool calls — and back again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.proxy_service.formats.stop_reason import claude_stop_reason
from tests.unit.proxy_service.formats._sse import (
    CLIENT_MODEL,
    DONE,
    call,
    claude_sse,
    delta,
    openai_sse,
    parse_claude,
    parse_openai,
    to_claude,
    to_openai,
)

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_-]{0,8}", fullmatch=True)
values = st.one_of(st.integers(-5, 99), st.booleans(), st.none(), texts)
arguments = st.dictionaries(st.text("abcxyz", min_size=1, max_size=4), values, max_size=3)


@dataclass
class Tool:
    id: str
    name: str
    args: dict[str, Any]
    text: str  # the JSON text streamed ("" for a zero-argument call that sends nothing)


@dataclass
class Script:
    """What the answer says, in order: ("thinking"|"text", str) runs and ("tool", Tool)."""

    parts: list[tuple[str, Any]] = field(default_factory=list)
    finish: str = "stop"
    usage: tuple[int, int] | None = None

    def add(self, kind: str, value: Any) -> None:
        if kind != "tool" and self.parts and self.parts[-1][0] == kind:
            self.parts[-1] = (kind, self.parts[-1][1] + value)  # one block per run
        else:
            self.parts.append((kind, value))


def split_at(draw: st.DrawFn, data: Any, max_cuts: int) -> list[Any]:
    """`data` (text or bytes) cut at up to `max_cuts` drawn places, into non-empty pieces."""
    if len(data) < 2:
        return [data] if data else []
    cuts = sorted(draw(st.sets(st.integers(1, len(data) - 1), max_size=max_cuts)))
    return [data[a:b] for a, b in pairwise([0, *cuts, len(data)])]


def pieces(draw: st.DrawFn, text: str) -> list[str]:
    return split_at(draw, text, 3)


@st.composite
def openai_streams(draw: st.DrawFn) -> tuple[list[bytes], Script, bool]:
    script = Script()
    chunks: list[Any] = []
    if draw(st.booleans()):
        chunks.append({"choices": [], "prompt_filter_results": [{"prompt_index": 0}]})  # Azure
    chunks.append(delta(role="assistant", content=""))
    tool_index = 0
    for segment in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["text", "thinking", "tools"]))
        if kind in ("text", "thinking"):
            text = draw(texts)
            script.add(kind, text)
            key = "content" if kind == "text" else draw(st.sampled_from(["reasoning_content", "reasoning"]))
            chunks += [delta(**{key: p}) for p in pieces(draw, text)]
            continue
        style = draw(st.sampled_from(["sequential", "bundled", "whole"]))
        reuse_index = draw(st.booleans())  # some providers give every parallel call index 0
        group = []
        for _ in range(draw(st.integers(1, 3))):
            args = draw(arguments)
            zero = not args and draw(st.booleans())
            text = "" if zero else orjson.dumps(args).decode()
            tool = Tool(f"call_{segment}_{len(group)}", draw(names), args, text)
            index = 0 if reuse_index and style != "bundled" else tool_index
            tool_index += 1
            group.append((index, tool))
            script.add("tool", tool)
        if style == "whole":
            chunks += [delta(tool_calls=[call(i, id=t.id, name=t.name, arguments=t.text)]) for i, t in group]
        elif style == "bundled":  # every call named first, all arguments in one last chunk
            chunks += [delta(tool_calls=[call(i, id=t.id, name=t.name, arguments="")]) for i, t in group]
            chunks.append(delta(tool_calls=[call(i, arguments=t.text) for i, t in group if t.text]))
        else:
            for i, t in group:
                parts = pieces(draw, t.text)
                first = parts.pop(0) if parts and draw(st.booleans()) else ""
                chunks.append(delta(tool_calls=[call(i, id=t.id, name=t.name, arguments=first)]))
                chunks += [delta(tool_calls=[call(i, arguments=p)]) for p in parts]
    script.finish = draw(st.sampled_from(["stop", "tool_calls", "length", "content_filter"]))
    if draw(st.booleans()) and isinstance(chunks[-1], dict) and chunks[-1]["choices"]:
        chunks[-1]["choices"][0]["finish_reason"] = script.finish  # content and finish together
    else:
        chunks.append(delta(finish_reason=script.finish))
    include_usage = draw(st.booleans())
    if include_usage:
        script.usage = (draw(st.integers(0, 10_000)), draw(st.integers(0, 10_000)))
        usage = {"prompt_tokens": script.usage[0], "completion_tokens": script.usage[1]}
        chunks.append({"choices": [], "usage": usage})
    if draw(st.booleans()):
        chunks.append(DONE)
    raw = b": keep-alive\n\n" + b"".join(openai_sse(*chunks))
    return split_at(draw, raw, 12), script, include_usage


def claude_blocks(events: list[dict[str, Any]]) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    """Checks the Claude event grammar; returns the blocks' content and the message_delta."""
    assert events[0]["type"] == "message_start"
    assert events[0]["message"]["model"] == CLIENT_MODEL
    assert [e["type"] for e in events[-2:]] == ["message_delta", "message_stop"]
    assert sum(e["type"] == "message_delta" for e in events) == 1
    blocks: list[tuple[str, Any]] = []
    open_index, open_kind, buffer = None, None, []
    for event in events[1:-2]:
        kind = event["type"]
        if kind == "content_block_start":
            assert open_index is None and event["index"] == len(blocks)
            open_index, open_kind, buffer = event["index"], event["content_block"]["type"], []
            blocks.append((open_kind, event["content_block"]))
        elif kind == "content_block_delta":
            assert event["index"] == open_index
            d = event["delta"]
            expected = {"text": "text_delta", "thinking": "thinking_delta", "tool_use": "input_json_delta"}
            assert d["type"] == expected[open_kind]
            buffer.append(d.get("text") or d.get("thinking") or d.get("partial_json") or "")
        elif kind == "content_block_stop":
            assert event["index"] == open_index
            joined = "".join(buffer)
            if open_kind == "tool_use":
                start = blocks[-1][1]
                blocks[-1] = ("tool", (start["id"], start["name"], orjson.loads(joined)))
            else:
                blocks[-1] = (open_kind, joined)
            open_index = None
        else:
            raise AssertionError(f"unexpected event {kind}")
    assert open_index is None
    return blocks, events[-2]


def expected_blocks(script: Script) -> list[tuple[str, Any]]:
    return [
        ("tool", (value.id, value.name, value.args)) if kind == "tool" else (kind, value)
        for kind, value in script.parts
    ]


@PROPERTY
@given(openai_streams())
def test_any_openai_stream_becomes_a_valid_claude_stream_with_the_same_content(case) -> None:
    reads, script, include_usage = case
    events = parse_claude(to_claude(reads, await_usage=include_usage))
    blocks, message_delta = claude_blocks(events)
    assert blocks == expected_blocks(script)
    used_tools = any(kind == "tool" for kind, _ in script.parts)
    assert message_delta["delta"]["stop_reason"] == claude_stop_reason(script.finish, used_tools=used_tools)
    if script.usage is not None:
        usage = message_delta["usage"]
        assert (usage["input_tokens"], usage["output_tokens"]) == script.usage


def openai_content(chunks: list[Any], *, include_usage: bool) -> list[tuple[str, Any]]:
    """Checks the OpenAI chunk grammar; returns the reassembled content in order."""
    assert chunks[-1] == DONE and DONE not in chunks[:-1]
    body = chunks[:-1]
    if include_usage:
        assert body[-1]["choices"] == [] and set(body[-1]["usage"]) >= {"prompt_tokens", "completion_tokens"}
        body = body[:-1]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "gpt-4o" for c in body)
    assert body[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    finishes = [c["choices"][0]["finish_reason"] for c in body]
    assert finishes[-1] is not None and all(f is None for f in finishes[:-1])
    parts: list[tuple[str, Any]] = []
    calls: dict[int, dict[str, Any]] = {}
    for c in body[1:-1]:
        d = c["choices"][0]["delta"]
        for key, kind in (("reasoning_content", "thinking"), ("content", "text")):
            if key in d:
                if parts and parts[-1][0] == kind:
                    parts[-1] = (kind, parts[-1][1] + d[key])
                else:
                    parts.append((kind, d[key]))
        for entry in d.get("tool_calls", ()):
            if entry["index"] not in calls:
                assert entry["index"] == len(calls) and entry["id"] and entry["type"] == "function"
                calls[entry["index"]] = {"id": entry["id"], "name": entry["function"]["name"], "args": []}
                parts.append(("tool", calls[entry["index"]]))
            calls[entry["index"]]["args"].append(entry["function"]["arguments"])
    return [
        ("tool", (v["id"], v["name"], orjson.loads("".join(v["args"])))) if kind == "tool" else (kind, v)
        for kind, v in parts
    ]


@PROPERTY
@given(openai_streams(), st.booleans(), st.data())
def test_and_back_the_claude_stream_becomes_the_same_openai_answer(case, include_usage: bool, data) -> None:
    reads, script, await_usage = case
    claude_bytes = to_claude(reads, await_usage=await_usage)
    chunks = parse_openai(to_openai(split_at(data.draw, claude_bytes, 12), include_usage=include_usage))
    assert openai_content(chunks, include_usage=include_usage) == expected_blocks(script)


@st.composite
def claude_streams(draw: st.DrawFn) -> tuple[list[bytes], list[tuple[str, Any]], str]:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "up",
                "content": [],
                "usage": {"input_tokens": 3},
            },
        }
    ]
    expected: list[tuple[str, Any]] = []
    for index in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["text", "thinking", "tool_use"]))
        if kind == "tool_use":
            args = draw(arguments)
            tool_id, name = f"toolu_{index}", draw(names)
            start = {"type": "tool_use", "id": tool_id, "name": name, "input": {}}
            parts = ["", *pieces(draw, orjson.dumps(args).decode())] if args or draw(st.booleans()) else []
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in parts]
            expected.append(("tool", (tool_id, name, args)))
        else:
            text = draw(texts)
            key = "text" if kind == "text" else "thinking"
            start = {"type": kind, key: ""}
            deltas = [{"type": f"{key}_delta", key: p} for p in pieces(draw, text)]
            if kind == "thinking":
                deltas.append({"type": "signature_delta", "signature": "sig"})
            if expected and expected[-1][0] == kind:
                expected[-1] = (kind, expected[-1][1] + text)
            else:
                expected.append((kind, text))
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        if draw(st.booleans()):
            events.append({"type": "ping"})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    stop_reason = draw(
        st.sampled_from(["end_turn", "tool_use", "max_tokens", "stop_sequence", "refusal", "pause_turn"])
    )
    events.append(
        {"type": "message_delta", "delta": {"stop_reason": stop_reason}, "usage": {"output_tokens": 9}}
    )
    events.append({"type": "message_stop"})
    raw = b"".join(claude_sse(*events))
    return split_at(draw, raw, 12), expected, stop_reason


@PROPERTY
@given(claude_streams(), st.booleans())
def test_any_claude_stream_becomes_a_valid_openai_stream_with_the_same_content(
    case, include_usage: bool
) -> None:
    reads, expected, _ = case
    chunks = parse_openai(to_openai(reads, include_usage=include_usage))
    assert openai_content(chunks, include_usage=include_usage) == expected
