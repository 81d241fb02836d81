"""A Claude message (non-streaming answer) as an OpenAI `chat.completion` (conversion.md §2.6)."""

from __future__ import annotations

from typing import Any

import orjson

from services.proxy_service.formats.ids import new_completion_id
from services.proxy_service.formats.stop_reason import openai_finish_reason
from services.proxy_service.formats.usage_conversion import openai_usage


def convert_message(message: dict[str, Any], *, model: str, created: int) -> dict[str, Any]:
    """All text blocks joined (with "" — as a stream delivers them), thinking as `reasoning_content`."""
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    content = message.get("content")
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            thinking.append(block["thinking"])
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            function = {"name": block.get("name") or "", "arguments": arguments}
            calls.append({"id": block.get("id") or "", "type": "function", "function": function})
    text = "".join(texts)
    reply: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    if thinking:
        reply["reasoning_content"] = "".join(thinking)
    if calls:
        reply["tool_calls"] = calls
    message_id = message.get("id")
    return {
        "id": message_id if isinstance(message_id, str) and message_id else new_completion_id(),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": reply,
                "logprobs": None,
                "finish_reason": openai_finish_reason(message.get("stop_reason")),
            }
        ],
        "usage": openai_usage(message.get("usage")),
    }
