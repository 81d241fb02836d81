"""The session a chat call belongs to, so that a conversation stays on one account and its prompt
cache there hits (account_service allocation/picker.py keeps the binding in Redis).

The key is taken, in order, from Anthropic's `metadata.user_id` (Claude Code sends one per session),
an `x-session-affinity` header, OpenAI's `prompt_cache_key`, and last a hash of the system prompt
plus the first user message. It is sent hashed; account_service mixes it with the API key's id, so
two keys never share a binding.

Explicit keys are looked up and recorded on every call. The last-resort hash is only *looked up*
when the conversation already has history (an assistant turn): identical one-shot calls (the same
prompt sent many times, as tests and batch jobs do) must spread over the pool, not pile onto one
account. A first turn without an explicit key is picked normally but *records* its binding, so its
follow-up turn, whose first user message is the same, finds the account whose cache it warmed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from services.proxy_service.formats import CLAUDE, ClientFormat

AFFINITY_HEADER = "x-session-affinity"


@dataclass(frozen=True, slots=True)
class Session:
    key: str  # hex digest of where the key came from and its value
    lookup: bool  # False: a first turn without an explicit key (recorded, not looked up)


def _digest(source: str, value: bytes) -> str:
    return hashlib.blake2b(source.encode() + b"\0" + value, digest_size=16).hexdigest()


def _explicit(value: Any) -> bytes | None:
    if isinstance(value, str) and value.strip():
        return value.encode("utf-8", "replace")
    return None


def session_of(body: dict[str, Any], fmt: ClientFormat, affinity: str | None = None) -> Session | None:
    """The call's session, or None when it has no messages to key on."""
    metadata = body.get("metadata")
    if fmt is CLAUDE and isinstance(metadata, dict):
        user_id = _explicit(metadata.get("user_id"))
        if user_id is not None:
            return Session(_digest("user_id", user_id), lookup=True)
    header = _explicit(affinity)
    if header is not None:
        return Session(_digest("header", header), lookup=True)
    cache_key = _explicit(body.get("prompt_cache_key"))
    if cache_key is not None:
        return Session(_digest("prompt_cache_key", cache_key), lookup=True)
    return _conversation(body, fmt)


def _conversation(body: dict[str, Any], fmt: ClientFormat) -> Session | None:
    """The hash of the system prompt and the first user message; looked up only with history."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    system: list[Any] = [body.get("system")] if fmt is CLAUDE else []
    first_user = None
    history = False
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "assistant":
            history = True
        elif role in ("system", "developer") and first_user is None:
            system.append(message.get("content"))
        elif role == "user" and first_user is None:
            first_user = message.get("content")
    if first_user is None:
        return None
    try:
        value = orjson.dumps([system, first_user])
    except TypeError:  # not JSON (cannot happen for a parsed body), so no session
        return None
    return Session(_digest("conversation", value), lookup=history)
