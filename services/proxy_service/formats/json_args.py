"""Tool-call arguments (a JSON text on OpenAI's side) as the object Anthropic's `input` must be.

Empty or blank arguments mean a tool without parameters: `{}`. Text that is not valid JSON (a
stream cut short, a sloppy model) is repaired by closing what is still open; what cannot be read,
or is not an object, becomes `{}` rather than failing the whole answer or sending a bare string.
"""

from __future__ import annotations

from typing import Any

import orjson

_CLOSERS = {"{": "}", "[": "]"}


def parse_arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = _repaired(raw)
    return value if isinstance(value, dict) else {}


def _repaired(raw: str) -> Any:
    """The value of a JSON text that was cut short, or None."""
    stack: list[str] = []
    in_string = escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in _CLOSERS:
            stack.append(_CLOSERS[char])
        elif char in "}]" and stack:
            stack.pop()
    text = raw.rstrip()
    if in_string:
        text += '"'
    text = text.rstrip().rstrip(",:")
    try:
        return orjson.loads(text + "".join(reversed(stack)))
    except orjson.JSONDecodeError:
        return None
