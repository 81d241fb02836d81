"""Tool names OpenAI accepts (`^[a-zA-Z0-9_-]{1,64}$`), and the way back to the client's names.

Anthropic allows longer names and other characters (MCP tools such as `mcp__server__a.very.long...`).
A name OpenAI would refuse gets a stand-in: invalid characters become `_`, an over-long name keeps
its first 55 characters plus `_` and 8 hex digits of its SHA-256. The map is kept per call (in the
bridge), so tool calls in the answer carry exactly the names the client declared.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 64
_VALID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_INVALID_CHAR = re.compile(r"[^a-zA-Z0-9_-]")


class ToolNameMap:
    __slots__ = ("_to_client", "_to_upstream")

    def __init__(self) -> None:
        self._to_upstream: dict[str, str] = {}
        self._to_client: dict[str, str] = {}

    def upstream(self, name: str) -> str:
        """The name to send upstream for the client's `name` (the same one every time)."""
        known = self._to_upstream.get(name)
        if known is not None:
            return known
        if _VALID.fullmatch(name):
            candidate = name
        elif len(name) > MAX_NAME:
            candidate = _hashed(name)
        else:
            candidate = _INVALID_CHAR.sub("_", name) or "tool"
        if candidate in self._to_client:  # taken by another name that cleans up the same way
            candidate = _hashed(name)
        self._to_upstream[name] = candidate
        self._to_client[candidate] = name
        return candidate

    def client(self, name: str) -> str:
        """The client's name for a name the upstream used (unknown names are returned as they are)."""
        return self._to_client.get(name, name)


def _hashed(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return _INVALID_CHAR.sub("_", name)[:55] + "_" + digest
