"""Forwarding a client call to pooled upstream accounts: request parsing, the attempt loop, streaming."""

from services.proxy_service.relay.backoff import RetryPolicy
from services.proxy_service.relay.forward import Relay

__all__ = ["Relay", "RetryPolicy"]
