"""Forwarding a client call to pooled upstream accounts: request parsing, the attempt loop, streaming."""

from services.proxy_service.relay.forward import Relay

__all__ = ["Relay"]
