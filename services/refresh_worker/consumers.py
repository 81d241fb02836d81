"""The worker's consumers, one per queue, each with its acknowledgement policy.

`account.created`: for now the worker only acknowledges new accounts; validating new Kiro tokens
with a real refresh is the Kiro issue's work and will live behind this same handler.
"""

from __future__ import annotations

from prometheus_client import Counter

from shared.logging import get_logger
from shared.messages import Envelope
from shared.messages.contracts import AccountCreated

log = get_logger(__name__)

ACCOUNTS_QUEUE = "refresh_worker.accounts"
ACCOUNTS_BINDINGS = [AccountCreated.TYPE]
HANDLED = Counter("poolgate_worker_events_total", "Events handled by the refresh worker", ["type"])


async def on_account_event(envelope: Envelope) -> None:
    event = envelope.event()
    HANDLED.labels(envelope.type).inc()
    if isinstance(event, AccountCreated):
        log.info(
            "account.created.received", account_id=event.account_id, kind=event.kind, message_id=envelope.id
        )
