"""What the proxy needs to know about each client-facing API: its name, errors, required fields."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClientFormat:
    name: str  # the allocation's `formats` value and the account format that needs no conversion
    route: str  # metrics label
    error_style: str  # a `shared.errors.render` style
    required: tuple[str, ...]  # body fields that must be present
    # Sent when the upstream breaks mid-stream: an error the client's SDK raises, never a fake end.
    stream_error: bytes


OPENAI = ClientFormat(
    name="openai",
    route="/v1/chat/completions",
    error_style="openai",
    required=("model", "messages"),
    stream_error=(
        b'data: {"error":{"message":"upstream stream interrupted","type":"upstream_error",'
        b'"param":null,"code":null}}\n\n'
    ),
)

CLAUDE = ClientFormat(
    name="claude",
    route="/v1/messages",
    error_style="anthropic",
    required=("model", "messages", "max_tokens"),
    stream_error=(
        b'event: error\ndata: {"type":"error","error":{"type":"api_error",'
        b'"message":"upstream stream interrupted"}}\n\n'
    ),
)
