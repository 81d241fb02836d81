"""The worker's consumers, one per queue, each with its acknowledgement policy.

`refresh_worker.accounts` carries every Kiro refresh trigger: `account.created` (a new Kiro token is
validated by a real refresh), `account.updated` (only a Kiro credential edit, which needs the same
validation), `account.refresh_due`, `account.refresh_requested` and `account.credential_rejected`.
`refresh_worker.dreamina` carries the same triggers (but `account.updated`) for Dreamina sessionid
revalidation; it has consumers of its own, so a browser login never holds up a Kiro refresh.

`refresh_worker.probes` carries `account.probe_requested` for every kind: one cheap health check,
reported to account_service (probes/runner.py); a failure to report raises, so it is run again.

Policy: a transient failure raises, so the broker retries it through the delayed retry queue up to
`max_attempts` and then dead-letters it, announcing a final `account.refresh_failed`; a malformed
message is dead-lettered at once; each queue acknowledges and ignores the other kinds.
"""

from __future__ import annotations

from services.refresh_worker.dreamina import decisions as dreamina
from services.refresh_worker.dreamina.revalidation import DreaminaRevalidator
from services.refresh_worker.kiro_refresh import KiroRefresher
from services.refresh_worker.metrics import HANDLED, IN_FLIGHT
from services.refresh_worker.probes.runner import Prober
from services.refresh_worker.refresh_rules import is_new_credential
from shared.logging import get_logger
from shared.messages import Envelope
from shared.messages.contracts import (
    AccountCreated,
    AccountCredentialRejected,
    AccountProbeRequested,
    AccountRefreshDue,
    AccountRefreshRequested,
    AccountUpdated,
)
from shared.messages.topology import DREAMINA_QUEUE as DREAMINA_QUEUE
from shared.messages.topology import PROBE_QUEUE, REFRESH_QUEUE

log = get_logger(__name__)

ACCOUNTS_QUEUE = REFRESH_QUEUE
_TRIGGERS = (
    AccountCreated,
    AccountUpdated,
    AccountRefreshDue,
    AccountRefreshRequested,
    AccountCredentialRejected,
)
ACCOUNTS_BINDINGS = [trigger.TYPE for trigger in _TRIGGERS]
DREAMINA_BINDINGS = [trigger.TYPE for trigger in dreamina.TRIGGERS]
PROBE_BINDINGS = [AccountProbeRequested.TYPE]


def _kiro_trigger(envelope: Envelope):
    """The event if it asks this worker to refresh a Kiro credential, else None."""
    event = envelope.event()
    if not isinstance(event, _TRIGGERS) or event.kind != "kiro":
        return None
    if isinstance(event, AccountUpdated) and not is_new_credential(event):
        return None
    return event


class AccountConsumer:
    def __init__(self, kiro: KiroRefresher) -> None:
        self._kiro = kiro

    async def on_event(self, envelope: Envelope) -> None:
        HANDLED.labels(envelope.type).inc()
        event = _kiro_trigger(envelope)
        if event is None:
            return
        log.info(
            "kiro.refresh.triggered", account_id=event.account_id, trigger=event.TYPE, message_id=envelope.id
        )
        with IN_FLIGHT.labels(ACCOUNTS_QUEUE).track_inprogress():
            await self._kiro.handle(event, occurred_at=envelope.occurred_at)

    async def on_dead_letter(self, envelope: Envelope, error: Exception) -> None:
        event = _kiro_trigger(envelope)
        if event is not None:
            await self._kiro.give_up(event, error)


class ProbeConsumer:
    """`account.probe_requested`, every kind: run the probe and report it (probes/runner.py)."""

    def __init__(self, prober: Prober) -> None:
        self._prober = prober

    async def on_event(self, envelope: Envelope) -> None:
        event = envelope.event()
        HANDLED.labels(envelope.type).inc()
        if not isinstance(event, AccountProbeRequested):
            return
        with IN_FLIGHT.labels(PROBE_QUEUE).track_inprogress():
            await self._prober.handle(event)


def _dreamina_trigger(envelope: Envelope):
    event = envelope.event()
    if not isinstance(event, dreamina.TRIGGERS) or event.kind != "dreamina":
        return None
    return event


class DreaminaConsumer:
    def __init__(self, revalidator: DreaminaRevalidator) -> None:
        self._revalidator = revalidator

    async def on_event(self, envelope: Envelope) -> None:
        event = _dreamina_trigger(envelope)  # counted in HANDLED by the accounts queue's consumer
        if event is None:
            return
        log.info(
            "dreamina.triggered", account_id=event.account_id, trigger=event.TYPE, message_id=envelope.id
        )
        with IN_FLIGHT.labels(DREAMINA_QUEUE).track_inprogress():
            await self._revalidator.handle(event, occurred_at=envelope.occurred_at)

    async def on_dead_letter(self, envelope: Envelope, error: Exception) -> None:
        event = _dreamina_trigger(envelope)
        if event is not None:
            await self._revalidator.give_up(event, error)
