"""OpenAI chat messages as Claude `system` blocks and alternating turns (conversion.md §1.4).

`system` and `developer` messages go to the top-level `system` wherever they stood. `tool` messages
become `tool_result` blocks of a user turn; consecutive user/tool messages merge into one turn
(results first, as Anthropic requires) and consecutive assistants into one. Anthropic refuses empty
text and a conversation that does not start with the user, so placeholders fill those gaps.
"""

from __future__ import annotations

from typing import Any

from services.proxy_service.formats.json_args import parse_arguments

PLACEHOLDER = "..."
_DATA_URL_MARK = ";base64,"


def convert_messages(messages: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(system blocks, messages)."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role, content = message.get("role"), message.get("content")
        if role in ("system", "developer"):
            system.extend(_system_blocks(content))
        elif role == "user":
            _append(turns, "user", _user_content(content))
        elif role == "tool":
            _append(turns, "user", [_tool_result(message)])
        elif role == "assistant":
            blocks = _assistant_blocks(message, len(turns))
            if blocks:
                _append(turns, "assistant", blocks)
    for turn in turns:
        content = turn["content"]
        if turn["role"] == "user" and isinstance(content, list):
            content.sort(key=lambda b: b.get("type") != "tool_result")  # stable: results first
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": PLACEHOLDER})
    _trim_prefill(turns)
    return system, turns


def _append(turns: list[dict[str, Any]], role: str, content: str | list[dict[str, Any]]) -> None:
    if turns and turns[-1]["role"] == role:
        last = turns[-1]
        last["content"] = _blocks(last["content"]) + _blocks(content)
    else:
        turns.append({"role": role, "content": content})


def _blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _text_of(content: Any, sep: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return sep.join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str) and p["text"]
        )
    return ""


def _system_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out = []
    for part in content if isinstance(content, list) else ():
        if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]:
            block = {"type": "text", "text": part["text"]}
            if "cache_control" in part:
                block["cache_control"] = part["cache_control"]
            out.append(block)
    return out


def _user_content(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content or PLACEHOLDER
    blocks = []
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str) and part["text"]:
            block = {"type": "text", "text": part["text"]}
            if "cache_control" in part:
                block["cache_control"] = part["cache_control"]
            blocks.append(block)
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            source = _source(url)
            if source is not None:
                blocks.append({"type": "image", "source": source})
        elif kind == "file":
            file = part.get("file")
            source = _source(file.get("file_data")) if isinstance(file, dict) else None
            if source is not None:
                blocks.append({"type": "document", "source": source})
    return blocks or PLACEHOLDER


def _source(url: Any) -> dict[str, Any] | None:
    """A data URL as a base64 source, an http(s) URL as a url source."""
    if not isinstance(url, str):
        return None
    if url.startswith("data:") and _DATA_URL_MARK in url:
        media_type, data = url[5:].split(_DATA_URL_MARK, 1)
        return {"type": "base64", "media_type": media_type, "data": data}
    if url.startswith(("http://", "https://")):
        return {"type": "url", "url": url}
    return None


def _tool_result(message: dict[str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.get("tool_call_id") or ""}
    text = _text_of(message.get("content"), "\n")
    if text:
        block["content"] = text
    return block


def _assistant_blocks(message: dict[str, Any], position: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    # Signed thinking a client kept from an earlier answer (LiteLLM's `thinking_blocks`); unsigned
    # thinking would be refused by Anthropic, so it is left out.
    for thinking in _list(message.get("thinking_blocks")):
        if isinstance(thinking, dict) and thinking.get("type") == "thinking" and thinking.get("signature"):
            blocks.append(
                {
                    "type": "thinking",
                    "thinking": thinking.get("thinking", ""),
                    "signature": thinking["signature"],
                }
            )
    text = _text_of(message.get("content"), "")
    if text:
        blocks.append({"type": "text", "text": text})
    for n, call in enumerate(_list(message.get("tool_calls"))):
        if not isinstance(call, dict):
            continue
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_missing_{position}_{n}",
                "name": function["name"] if isinstance(function.get("name"), str) else "",
                "input": parse_arguments(function.get("arguments")),
            }
        )
    return blocks


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _trim_prefill(turns: list[dict[str, Any]]) -> None:
    """A final assistant turn (a prefill) must not end with whitespace."""
    last = turns[-1]
    if last["role"] != "assistant":
        return
    content = last["content"]
    if isinstance(content, list) and content and content[-1].get("type") == "text":
        text = content[-1]["text"].rstrip()
        if text:
            content[-1] = {**content[-1], "text": text}
        else:
            content.pop()
            if not content:
                turns.pop()
