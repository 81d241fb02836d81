"""Claude requests made acceptable to Microsoft Foundry (Claude on Azure), conversion.md §4.

Foundry refuses Anthropic's newest request fields and beta tool shapes, and thinking history it
cannot verify. This drops what it refuses and changes nothing else; `None` means the request needed
no change, so the client's bytes go through as they are.
"""

from __future__ import annotations

from typing import Any

_DROPPED = ("context_management", "betas", "anthropic_beta")
_BUILTIN_PREFIXES = ("bash_", "text_editor_", "web_search_", "computer_")
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def clean_for_foundry(body: dict[str, Any]) -> dict[str, Any] | None:
    out = {k: v for k, v in body.items() if k not in _DROPPED}
    messages = body.get("messages")
    messages = messages if isinstance(messages, list) else []
    thinking = body.get("thinking")
    on = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    if on and not _last_assistant_starts_with_thinking(messages):
        # Anthropic requires the final assistant turn to open with its (signed) thinking.
        del out["thinking"]
        on = False
    out["messages"] = _messages(messages, thinking_on=on)
    if isinstance(body.get("tools"), list):
        out["tools"] = [t for t in map(_tool, body["tools"]) if t is not None]
    return None if out == body else out


def _last_assistant_starts_with_thinking(messages: list[Any]) -> bool:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "assistant":
            content = message.get("content")
            first = content[0] if isinstance(content, list) and content else None
            return isinstance(first, dict) and (
                (first.get("type") == "thinking" and bool(first.get("signature")))
                or (first.get("type") == "redacted_thinking" and bool(first.get("data")))
            )
    return True  # no assistant turn yet: nothing to contradict thinking


def _messages(messages: list[Any], *, thinking_on: bool) -> list[Any]:
    out = []
    last = len(messages) - 1
    for position, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, list):
            blocks = [b for b in (_block(b, thinking_on) for b in content) if b is not None]
            if blocks != content:
                message = {**message, "content": blocks}
            content = blocks
        prefill = position == last and message.get("role") == "assistant"
        if not prefill and (not content or (isinstance(content, str) and not content.strip())):
            continue
        out.append(message)
    return out


def _block(block: Any, thinking_on: bool) -> Any:
    if not isinstance(block, dict):
        return block
    kind = block.get("type")
    if kind == "thinking":
        if not thinking_on:
            return None
        if block.get("signature"):
            return block
        text = block.get("thinking")
        return {"type": "text", "text": f"<previous_thinking>{text}</previous_thinking>"} if text else None
    if kind == "redacted_thinking":
        return block if thinking_on and block.get("data") else None
    return block


def _tool(tool: Any) -> dict[str, Any] | None:
    if not isinstance(tool, dict):
        return None
    kind = tool.get("type")
    if isinstance(kind, str) and kind.startswith(_BUILTIN_PREFIXES):
        return {"type": kind, "name": tool["name"]} if tool.get("name") else None
    if kind == "function" and isinstance(tool.get("function"), dict):  # OpenAI-style
        function = tool["function"]
        source = {**function, "input_schema": function.get("parameters")}
    elif kind == "custom":
        source = tool["custom"] if isinstance(tool.get("custom"), dict) else tool
    elif kind is None:
        source = tool
    else:
        return None
    if not isinstance(source.get("name"), str) or not source["name"]:
        return None
    schema = source.get("input_schema")
    out: dict[str, Any] = {
        "name": source["name"],
        "input_schema": schema if isinstance(schema, dict) else dict(_EMPTY_SCHEMA),
    }
    if isinstance(source.get("description"), str) and source["description"]:
        out["description"] = source["description"]
    return out
