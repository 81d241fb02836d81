"""Identifiers the converters make up, and the one they clean."""

from __future__ import annotations

import re
import secrets

_NOT_ID = re.compile(r"[^A-Za-z0-9_-]")


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


def new_completion_id() -> str:
    return "chatcmpl-" + secrets.token_hex(12)


def clean_tool_id(raw: object) -> str | None:
    """An upstream tool-call id made acceptable to Anthropic clients (`^[A-Za-z0-9_-]+$`).

    Some upstreams use ids like `functions.Bash:0` (Kimi) or plain numbers (OpenRouter routes)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not raw:
        return None
    return _NOT_ID.sub("_", raw)


def tool_id_for(message_id: str, position: int) -> str:
    """A tool-use id for an upstream call that came without one: unique because the message id is."""
    return f"toolu_{message_id.removeprefix('msg_')}_{position}"
