"""Claude `system` and `messages` as OpenAI chat messages (conversion.md §1.3).

A Claude user turn becomes its `tool` messages first (in block order), then one user message with
the rest of its text and images in their original order: nothing may come between an assistant's
`tool_calls` and their results. Assistant text joins with "" (as a stream would have delivered it),
user and system text with "\\n". Thinking is dropped, except that DeepSeek gets it back as
`reasoning_content` on turns with tool calls (it refuses those turns otherwise).
"""

from __future__ import annotations

from typing import Any

import orjson

from services.proxy_service.formats.providers import Provider
from services.proxy_service.formats.tool_names import ToolNameMap

IMAGE_OMITTED = "[image omitted]"
DOCUMENT_OMITTED = "[document omitted]"


def system_message(system: Any, *, keep_cache_control: bool) -> dict[str, Any] | None:
    """Claude's top-level `system` as one system message (parts with cache_control for Claude targets)."""
    if isinstance(system, str):
        return {"role": "system", "content": system} if system else None
    if not isinstance(system, list):
        return None
    blocks = [
        b
        for b in system
        if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
    ]
    blocks = [b for b in blocks if b["text"]]
    if not blocks:
        return None
    if keep_cache_control and any("cache_control" in b for b in blocks):
        parts = [{"type": "text", "text": b["text"]} for b in blocks]
        for part, block in zip(parts, blocks, strict=True):
            if "cache_control" in block:
                part["cache_control"] = block["cache_control"]
        return {"role": "system", "content": parts}
    return {"role": "system", "content": "\n".join(b["text"] for b in blocks)}


def convert_messages(
    messages: list[Any], *, names: ToolNameMap, provider: Provider, out: list[dict[str, Any]]
) -> None:
    for message in messages:
        if not isinstance(message, dict):
            continue
        role, content = message.get("role"), message.get("content")
        if role == "user":
            _user(content, provider, out)
        elif role == "assistant":
            _assistant(content, names, provider, out)


def _user(content: Any, provider: Provider, out: list[dict[str, Any]]) -> None:
    if isinstance(content, str):
        out.append({"role": "user", "content": content})
        return
    if not isinstance(content, list):
        return
    parts: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            block = {"type": "text", "text": block}
        elif not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "tool_result":
            if block.get("tool_use_id"):
                out.append(
                    {"role": "tool", "tool_call_id": block["tool_use_id"], "content": _result_text(block)}
                )
        elif kind == "text":
            if isinstance(block.get("text"), str) and block["text"]:
                parts.append({"type": "text", "text": block["text"]})
        elif kind == "image":
            parts.append(_image(block.get("source")))
        elif kind == "document":
            parts.append(_document(block.get("source"), provider))
    if parts:
        if all(p["type"] == "text" for p in parts):
            out.append({"role": "user", "content": "\n".join(p["text"] for p in parts)})
        else:
            out.append({"role": "user", "content": parts})


def _image(source: Any) -> dict[str, Any]:
    if isinstance(source, dict):
        if source.get("type") == "base64" and source.get("data"):
            url = f"data:{source.get('media_type') or 'image/png'};base64,{source['data']}"
            return {"type": "image_url", "image_url": {"url": url}}
        if source.get("type") == "url" and source.get("url"):
            return {"type": "image_url", "image_url": {"url": source["url"]}}
    return {"type": "text", "text": IMAGE_OMITTED}


def _document(source: Any, provider: Provider) -> dict[str, Any]:
    if isinstance(source, dict):
        if source.get("type") == "text" and isinstance(source.get("data"), str):
            return {"type": "text", "text": source["data"]}
        if provider.file_parts and source.get("type") == "base64" and source.get("data"):
            media_type = source.get("media_type") or "application/pdf"
            data_url = f"data:{media_type};base64,{source['data']}"
            return {"type": "file", "file": {"filename": "document.pdf", "file_data": data_url}}
    return {"type": "text", "text": DOCUMENT_OMITTED}


def _result_text(block: dict[str, Any]) -> str:
    """A tool_result's content as the text of a `tool` message (OpenAI takes no images there)."""
    content = block.get("content")
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    elif isinstance(content, list):
        pieces = []
        for item in content:
            if isinstance(item, str):
                pieces.append(item)
            elif isinstance(item, dict):
                if isinstance(item.get("text"), str):
                    pieces.append(item["text"])
                elif item.get("type") == "image":
                    pieces.append(IMAGE_OMITTED)
                elif item.get("type") == "document":
                    pieces.append(DOCUMENT_OMITTED)
        text = "\n".join(pieces)
    else:
        text = orjson.dumps(content).decode()
    if block.get("is_error") is True:  # OpenAI has no error flag: say it in the text
        return f"Error: {text}" if text else "Error"
    return text


def _assistant(content: Any, names: ToolNameMap, provider: Provider, out: list[dict[str, Any]]) -> None:
    if isinstance(content, str):
        if content:
            out.append({"role": "assistant", "content": content})
        return
    if not isinstance(content, list):
        return
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, str):
            texts.append(block)
            continue
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "tool_use" and block.get("id") and isinstance(block.get("name"), str):
            function = {"name": names.upstream(block["name"]), "arguments": _arguments(block.get("input"))}
            calls.append({"id": block["id"], "type": "function", "function": function})
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            thinking.append(block["thinking"])
    text = "".join(texts)
    if not text and not calls:
        return  # e.g. a turn with only thinking: OpenAI refuses an empty assistant message
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = calls
    if provider.reasoning_replay and (calls or thinking):
        message["reasoning_content"] = "".join(thinking)
    out.append(message)


def _arguments(value: Any) -> str:
    if value is None:
        return "{}"
    if isinstance(value, str):
        return value or "{}"
    return orjson.dumps(value).decode()
