"""What the fakes answer: reply pieces, rough token counts, ids and the tool-call trigger."""

from __future__ import annotations

import base64
import os
import re
from typing import Any

TOOL_ARGUMENTS = '{"city": "Paris"}'
TOOL_INPUT = {"city": "Paris"}
THINKING_TEXT = "The user wants a short answer. I will reply with the configured text."

_WORDS = re.compile(r"\S+\s*|\s+")
_WEATHER = re.compile(r"\bweather\b", re.IGNORECASE)
# Keys that hold structure rather than text; skipped so token estimates track what a model reads.
_META_KEYS = frozenset({"role", "type", "id", "tool_call_id", "tool_use_id", "cache_control", "index"})


def split_text(text: str, n: int) -> list[str]:
    """Split `text` into exactly `n` non-empty pieces whose concatenation is `text`.

    Prefers word boundaries, falls back to characters when there are fewer words than pieces,
    and appends repeated words when even the characters run out (the only case where the
    joined pieces differ from `text`).
    """
    if n <= 0:
        return []
    units = _WORDS.findall(text)
    if len(units) < n:
        units = list(text)
    if len(units) < n:
        words = text.split() or ["fake"]
        units += [" " + words[i % len(words)] for i in range(n - len(units))]
    m = len(units)
    return ["".join(units[i * m // n : (i + 1) * m // n]) for i in range(n)]


def fragments(text: str, n: int) -> list[str]:
    """Like split_text but never pads: for tool arguments, which must stay valid JSON."""
    return split_text(text, max(1, min(n, len(text))))


def text_chars(obj: Any) -> int:
    if isinstance(obj, str):
        return len(obj)
    if isinstance(obj, list):
        return sum(text_chars(item) for item in obj)
    if isinstance(obj, dict):
        return sum(text_chars(v) for k, v in obj.items() if k not in _META_KEYS)
    return 0


def estimate_tokens(chars: int) -> int:
    """Roughly four characters per token, at least one."""
    return max(1, (chars + 3) // 4)


def new_id(prefix: str) -> str:
    return prefix + os.urandom(12).hex()


def new_signature() -> str:
    return base64.b64encode(os.urandom(96)).decode()


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def wants_tool(body: dict[str, Any]) -> bool:
    """A tool call is answered when tools are offered and the last message is a user asking about weather."""
    messages = body.get("messages")
    if not body.get("tools") or not isinstance(messages, list) or not messages:
        return False
    last = messages[-1]
    return (
        isinstance(last, dict) and last.get("role") == "user" and bool(_WEATHER.search(_message_text(last)))
    )


def first_tool_name(tools: list[Any]) -> str:
    """OpenAI nests the name under `function`; Anthropic keeps it at the top level."""
    tool = tools[0] if tools and isinstance(tools[0], dict) else {}
    function = tool.get("function")
    if isinstance(function, dict) and function.get("name"):
        return str(function["name"])
    return str(tool.get("name") or "get_weather")
