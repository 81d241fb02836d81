"""Test helpers: Kiro event-stream frames in, and the client's view of what the writers produced out.

Claude streams are checked twice: by a strict structural parser here (event order, block indices,
delta types) and by the official SDKs' own stream accumulation over an in-memory transport.
"""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import openai
import orjson
from openai.types.chat import ChatCompletionChunk

from services.proxy_service.upstreams.kiro.eventstream import encode_message
from tests.unit.proxy_service.formats._sse import DONE, parse_claude, parse_openai

__all__ = ["DONE", "parse_claude", "parse_openai"]

_DELTA_FOR_BLOCK = {"text": "text_delta", "thinking": "thinking_delta", "tool_use": "input_json_delta"}


def event(event_type: str, payload: Any) -> bytes:
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    headers = {":message-type": "event", ":event-type": event_type, ":content-type": "application/json"}
    return encode_message(headers, raw)


def text(content: str) -> bytes:
    return event("assistantResponseEvent", {"content": content})


def tool(tool_id: str, name: str | None = None, input: Any = None, *, stop: bool = False) -> bytes:
    payload: dict[str, Any] = {"toolUseId": tool_id}
    if name is not None:
        payload["name"] = name
    if input is not None:
        payload["input"] = input
    if stop:
        payload["stop"] = True
    return event("toolUseEvent", payload)


def exception(exception_type: str, message: str = "boom") -> bytes:
    headers = {
        ":message-type": "exception",
        ":exception-type": exception_type,
        ":content-type": "application/json",
    }
    return encode_message(headers, orjson.dumps({"message": message}))


def error(code: str, message: str = "broken") -> bytes:
    headers = {":message-type": "error", ":error-code": code, ":content-type": "application/json"}
    return encode_message(headers, orjson.dumps({"message": message}))


def check_claude(out: bytes) -> list[dict[str, Any]]:
    """The events of a Claude stream that must be well formed: message_start first; blocks opened
    at increasing indices from 0, one at a time, with deltas of their own kind, and stopped; then
    message_delta and message_stop last — or an error event last, with no normal end before it."""
    events = parse_claude(out)
    assert events and events[0]["type"] == "message_start"
    expected_index, open_block = 0, None
    for position, item in enumerate(events[1:], start=1):
        kind = item["type"]
        if kind == "error":
            assert position == len(events) - 1, "events after an error"
            break
        if kind == "content_block_start":
            assert open_block is None and item["index"] == expected_index
            open_block = item["content_block"]["type"]
            expected_index += 1
        elif kind == "content_block_delta":
            assert open_block is not None and item["index"] == expected_index - 1
            allowed = {_DELTA_FOR_BLOCK[open_block]} | (
                {"signature_delta"} if open_block == "thinking" else set()
            )
            assert item["delta"]["type"] in allowed
        elif kind == "content_block_stop":
            assert open_block is not None and item["index"] == expected_index - 1
            open_block = None
        elif kind == "message_delta":
            assert open_block is None
            assert [e["type"] for e in events[position:]] == ["message_delta", "message_stop"]
            break
        else:
            raise AssertionError(f"unexpected event {kind}")
    else:
        raise AssertionError("the stream ended with neither message_stop nor an error")
    return events


def _transport(body: bytes) -> httpx2.Client:
    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return httpx2.Client(transport=httpx2.MockTransport(answer))


def claude_sdk_message(out: bytes) -> anthropic.types.Message:
    """The message the anthropic SDK assembles from the stream (it raises on an error event)."""
    client = anthropic.Anthropic(
        api_key="sk-test", base_url="http://kiro.test", http_client=_transport(out), max_retries=0
    )
    with client.messages.stream(
        model="claude-sonnet-4", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        return stream.get_final_message()


def openai_sdk_completion(out: bytes) -> Any:
    """The completion the openai SDK assembles from the chunks (it raises on an error chunk)."""
    client = openai.OpenAI(
        api_key="sk-test", base_url="http://kiro.test/v1", http_client=_transport(out), max_retries=0
    )
    with client.chat.completions.stream(
        model="claude-sonnet-4", messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        for _ in stream:
            pass
        return stream.get_final_completion()


def openai_chunks(out: bytes) -> list[Any]:
    """Every chunk validated by the openai SDK's own type; `DONE` and error objects (`{"error"}`, which
    the SDK raises on) kept as they are."""
    return [
        c if c == DONE or "error" in c else ChatCompletionChunk.model_validate(c) for c in parse_openai(out)
    ]
