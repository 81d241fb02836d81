"""Where a request is nested too deeply to be converted.

orjson writes at most 255 levels of nesting, so a converted body (which wraps the client's values a
few levels deeper) fails to encode when the client nested a tool schema ~250 levels deep. That is
the client's doing: it gets a 400 naming the deepest path of its own body, found only on failure.
"""

from __future__ import annotations

from typing import Any

from shared.errors import InvalidRequest

# orjson's limit, less what a conversion may wrap around the client's values.
MAX_CONVERTED_DEPTH = 240


def deepest_path(value: Any) -> tuple[int, str]:
    """(depth, path) of the most deeply nested value, e.g. `tools[0].input_schema.properties.a`."""
    best = (0, "")
    stack: list[tuple[Any, int, str]] = [(value, 0, "")]
    while stack:  # iterative: the nesting may be deeper than Python's recursion limit
        node, depth, path = stack.pop()
        if depth > best[0]:
            best = (depth, path)
        if isinstance(node, dict):
            for key, child in node.items():
                stack.append((child, depth + 1, f"{path}.{key}" if path else str(key)))
        elif isinstance(node, list):
            for i, child in enumerate(node):
                stack.append((child, depth + 1, f"{path}[{i}]"))
    return best


def unencodable(body: dict[str, Any], exc: Exception) -> InvalidRequest:
    """The client's error for a request whose converted body could not be encoded."""
    depth, path = deepest_path(body)
    if depth < MAX_CONVERTED_DEPTH:
        return InvalidRequest(f"the request cannot be converted for this account: {exc}")
    return InvalidRequest(
        f"`{path}` is nested {depth} levels deep; at most {MAX_CONVERTED_DEPTH} can be converted "
        "for this account",
        param=path,
    )
