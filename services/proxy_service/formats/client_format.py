"""What the proxy needs to know about each client-facing API: its name, errors, required fields, and
the capability allocation asks for (chat; image or video for the media routes, whose accounts answer
in jimeng-api's format)."""

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
    capability: str = "chat"

    @property
    def media(self) -> bool:
        return self.capability != "chat"


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


def _media(route: str, capability: str) -> ClientFormat:
    """An OpenAI-style image or video route (never streamed); `prompt` is checked by its reader."""
    return ClientFormat(
        name="jimeng",
        route=route,
        error_style="openai",
        required=(),
        stream_error=b"",
        capability=capability,
    )


IMAGE_GENERATIONS = _media("/v1/images/generations", "image")
IMAGE_EDITS = _media("/v1/images/edits", "image")  # OpenAI's multipart edits: jimeng's compositions
IMAGE_COMPOSITIONS = _media("/v1/images/compositions", "image")
VIDEO_GENERATIONS = _media("/v1/videos/generations", "video")
MEDIA_FORMATS = (IMAGE_GENERATIONS, IMAGE_EDITS, IMAGE_COMPOSITIONS, VIDEO_GENERATIONS)
