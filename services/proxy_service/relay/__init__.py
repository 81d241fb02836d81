"""Forwarding a client call to pooled upstream accounts: request parsing, the attempt loop, streaming."""

from services.proxy_service.relay.attempt import AttemptDeps
from services.proxy_service.relay.backoff import RetryPolicy
from services.proxy_service.relay.lease import Leases
from services.proxy_service.relay.relay import Relay

__all__ = ["AttemptDeps", "Leases", "Relay", "RetryPolicy"]
