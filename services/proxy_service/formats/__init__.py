"""Client formats and the bridges between a client's format and an upstream's.

The canonical shape inside the proxy is Anthropic Messages (DESIGN §5). A client and an account of
the same format get `Passthrough` (bytes untouched unless the account overrides the model or its
provider needs a clean-up); the two other pairs get a converting bridge, chosen by `bridge_for`.
The converters themselves are pure: `claude_to_openai/` and `openai_to_claude/`.
"""

from __future__ import annotations

from typing import Any, Protocol

from services.proxy_service.formats.bridges import ClaudeClientToOpenAI, OpenAIClientToClaude
from services.proxy_service.formats.client_format import CLAUDE, OPENAI, ClientFormat
from services.proxy_service.formats.failures import FailedAnswer
from services.proxy_service.formats.foundry import clean_for_foundry
from services.proxy_service.formats.passthrough import Passthrough
from services.proxy_service.formats.providers import provider_for

__all__ = [
    "CLAUDE",
    "OPENAI",
    "Bridge",
    "ClaudeClientToOpenAI",
    "ClientFormat",
    "FailedAnswer",
    "OpenAIClientToClaude",
    "Passthrough",
    "UnsupportedConversion",
    "bridge_for",
]


class Bridge(Protocol):
    """Turns one client call into the upstream's format and the upstream's answer back.

    One instance per attempt, so a converting bridge may keep stream state between chunks. For a
    stream the relay calls `stream_start` once after the 200 headers, `stream_chunk` for each raw
    upstream chunk (only when `rewrites`), and `stream_end` once at the upstream's EOF; whatever
    they return (possibly nothing) goes to the client as it is."""

    @property
    def rewrites(self) -> bool:
        """False when answers pass through byte for byte (the stream loop then skips `stream_chunk`)."""
        ...

    @property
    def stream_failed(self) -> bool:
        """True once the converted stream was ended with an error event (an upstream error event, or
        an upstream that stopped before finishing): the attempt did not succeed."""
        ...

    @property
    def stream_error(self) -> str | None:
        """The error an upstream that is not SSE (Kiro's event stream) ended its stream with, in
        words, for the usage event's excerpt; None otherwise (the relay reads SSE error events)."""
        ...

    @property
    def usage(self) -> tuple[int | None, int | None] | None:
        """Token counts the bridge itself knows (an upstream whose answer is not Anthropic or
        OpenAI JSON); None when they are read from the upstream's bytes."""
        ...

    @property
    def produced(self) -> dict[str, float] | None:
        """What a successful image or video answer produced (`images`, `video_seconds`), for its
        usage event; None for chat."""
        ...

    def request_body(self, raw: bytes, body: dict[str, Any]) -> bytes: ...

    def response_body(self, raw: bytes, parsed: Any) -> bytes:
        """A successful non-streaming answer in the client's format; raises `FailedAnswer` when the
        upstream's 2xx answer turns out to carry an error."""
        ...

    def stream_start(self) -> bytes: ...

    def stream_chunk(self, chunk: bytes) -> bytes: ...

    def stream_end(self) -> bytes: ...

    def error_body(self, raw: bytes, status: int) -> bytes:
        """An upstream error answer (status kept by the caller) in the client's error shape."""
        ...


class UnsupportedConversion(Exception):
    pass


def bridge_for(
    client: ClientFormat,
    upstream_format: str,
    *,
    client_model: str,
    upstream_model: str | None,
    provider: str | None = None,
) -> Bridge:
    """`upstream_model` is the account's model override (None: the client's model is sent)."""
    quirks = provider_for(provider)
    if upstream_format == client.name:
        clean = clean_for_foundry if upstream_format == CLAUDE.name and quirks.foundry else None
        return Passthrough(client_model, upstream_model, clean=clean)
    if client.name == CLAUDE.name and upstream_format == OPENAI.name:
        return ClaudeClientToOpenAI(client_model, upstream_model, quirks)
    if client.name == OPENAI.name and upstream_format == CLAUDE.name:
        return OpenAIClientToClaude(client_model, upstream_model)
    raise UnsupportedConversion(f"{client.name} client to {upstream_format} upstream")
