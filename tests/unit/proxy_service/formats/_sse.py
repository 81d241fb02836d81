"""Test helpers: SSE bytes in, parsed events out, for both APIs' streams."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from services.proxy_service.formats.claude_to_openai import ClaudeToOpenAIStream
from services.proxy_service.formats.openai_to_claude import OpenAIToClaudeStream
from services.proxy_service.formats.tool_names import ToolNameMap

DONE = "[DONE]"
CLIENT_MODEL = "claude-sonnet-4"
MESSAGE_ID = "msg_test"


def openai_sse(*chunks: dict[str, Any] | str) -> list[bytes]:
    """One `data:` event per chunk (`DONE` for the terminator), as separate network reads."""
    return [b"data: " + (b"[DONE]" if c == DONE else orjson.dumps(c)) + b"\n\n" for c in chunks]


def claude_sse(*events: dict[str, Any]) -> list[bytes]:
    return [b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events]


def delta(**fields: Any) -> dict[str, Any]:
    """An OpenAI chunk with one choice carrying `fields` as its delta (and finish_reason if given)."""
    finish = fields.pop("finish_reason", None)
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": fields, "finish_reason": finish}],
    }


def call(index: int, *, id: str | None = None, name: str | None = None, arguments: str | None = None):
    function = {k: v for k, v in (("name", name), ("arguments", arguments)) if v is not None}
    entry: dict[str, Any] = {"index": index, "function": function}
    if id is not None:
        entry["id"], entry["type"] = id, "function"
    return entry


def usage_chunk(prompt: int, completion: int, cached: int | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": usage}


def split_every(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def parse_claude(out: bytes) -> list[dict[str, Any]]:
    """Claude SSE bytes as event dicts; every frame must be `event: T\\ndata: {"type": T, ...}`."""
    assert out.endswith(b"\n\n") or not out
    events = []
    for frame in out.split(b"\n\n")[:-1]:
        name_line, data_line = frame.split(b"\n")
        assert name_line.startswith(b"event: ") and data_line.startswith(b"data: ")
        event = orjson.loads(data_line[6:])
        assert event["type"] == name_line[7:].decode()
        events.append(event)
    return events


def parse_openai(out: bytes) -> list[Any]:
    """OpenAI SSE bytes as chunk dicts (and `DONE`)."""
    assert out.endswith(b"\n\n") or not out
    chunks: list[Any] = []
    for frame in out.split(b"\n\n")[:-1]:
        assert frame.startswith(b"data: ")
        chunks.append(DONE if frame == b"data: [DONE]" else orjson.loads(frame[6:]))
    return chunks


def to_claude(reads: Iterable[bytes], *, names: ToolNameMap | None = None, **options: Any) -> bytes:
    stream = OpenAIToClaudeStream(
        model=CLIENT_MODEL, message_id=MESSAGE_ID, names=names or ToolNameMap(), **options
    )
    return stream.start() + b"".join(stream.feed(r) for r in reads) + stream.end()


def to_openai(reads: Iterable[bytes], *, include_usage: bool = False, model: str = "gpt-4o") -> bytes:
    stream = ClaudeToOpenAIStream(model=model, created=1700000000, include_usage=include_usage)
    return b"".join(stream.feed(r) for r in reads) + stream.end()
