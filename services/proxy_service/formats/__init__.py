"""Client formats and the bridges between a client's format and an upstream's.

Today the proxy only pairs a client with accounts of its own format (`Passthrough`); cross-format
conversion plugs in here as more bridges with the same four methods (`request_body`,
`response_body`, `stream_chunk`, `error_body`), chosen by `bridge_for`.
"""

from __future__ import annotations

from typing import Any, Protocol

from services.proxy_service.formats.passthrough import Passthrough
from services.proxy_service.formats.spec import CLAUDE, OPENAI, ClientFormat

__all__ = ["CLAUDE", "OPENAI", "Bridge", "ClientFormat", "Passthrough", "UnsupportedConversion", "bridge_for"]


class Bridge(Protocol):
    """Turns one client call into the upstream's format and the upstream's answer back.

    One instance per attempt, so a converting bridge may keep stream state between chunks."""

    @property
    def rewrites(self) -> bool:
        """False when answers pass through byte for byte (the stream loop then skips `stream_chunk`)."""
        ...

    def request_body(self, raw: bytes, body: dict[str, Any]) -> bytes: ...

    def response_body(self, raw: bytes, parsed: Any) -> bytes: ...

    def stream_chunk(self, chunk: bytes) -> bytes: ...

    def error_body(self, raw: bytes) -> bytes: ...


class UnsupportedConversion(Exception):
    pass


def bridge_for(
    client: ClientFormat, upstream_format: str, *, client_model: str, upstream_model: str | None
) -> Bridge:
    if upstream_format == client.name:
        return Passthrough(client_model, upstream_model)
    raise UnsupportedConversion(f"{client.name} client to {upstream_format} upstream")
