"""Client formats and the bridges between a client's format and an upstream's.

Today the proxy only pairs a client with accounts of its own format (`Passthrough`); cross-format
conversion plugs in here as more bridges with the same four methods (`request_body`,
`response_body`, `stream_chunk`, `error_body`), chosen by `bridge_for`.
"""

from __future__ import annotations

from services.proxy_service.formats.passthrough import Passthrough
from services.proxy_service.formats.spec import CLAUDE, OPENAI, ClientFormat

__all__ = ["CLAUDE", "OPENAI", "ClientFormat", "Passthrough", "UnsupportedConversion", "bridge_for"]


class UnsupportedConversion(Exception):
    pass


def bridge_for(
    client: ClientFormat, upstream_format: str, *, client_model: str, upstream_model: str | None
) -> Passthrough:
    if upstream_format == client.name:
        return Passthrough(client_model, upstream_model)
    raise UnsupportedConversion(f"{client.name} client to {upstream_format} upstream")
