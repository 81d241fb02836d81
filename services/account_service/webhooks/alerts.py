"""Consumes the events that are alerts and turns each into one delivery per webhook that wants it.

| event                                   | alert                                  |
|-----------------------------------------|----------------------------------------|
| `account.status_changed` to invalid     | `account.invalid`                      |
| `account.status_changed` to exhausted   | `account.exhausted`                    |
| `account.refresh_failed` (final)        | `account.refresh_failed` (Kiro refresh, Dreamina login) |
| `pool.unavailable`                      | `pool.unavailable`                     |
| `api_key.limit_reached` (tokens_per_day)| `api_key.limit_reached`                |
| `egress_proxy.unhealthy`                | `egress_proxy.unhealthy`               |
| `account.probe_failed`                  | `account.probe_failed`                 |

A refresh failure that will be retried is not an alert (only the final one is); nor are a key's
per-minute and concurrency limits, which are refusals of single calls, not a state. A proxy's and a
probe's failures are announced by their producers only when the state turns (healthy to failed), so
each of those events is an alert.

Exactly once: each message id is claimed (usage/inbox.py) in the transaction that adds its
deliveries, and a delivery is unique per webhook and message, so a redelivered event adds nothing.
Ack policy: while PostgreSQL is unreachable the message waits and is tried again; any other failure
goes through the retry queue (5 attempts), then to the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import asyncpg

from services.account_service.accounts import repository as accounts
from services.account_service.usage.inbox import Inbox
from services.account_service.users.service import usernames
from services.account_service.webhooks.service import enqueue_alert
from shared.logging import get_logger
from shared.messages import Envelope
from shared.messages.contracts import (
    AccountProbeFailed,
    AccountRefreshFailed,
    AccountStatusChanged,
    ApiKeyLimitReached,
    EgressProxyUnhealthy,
    Event,
    PoolUnavailable,
)
from shared.messages.topology import ALERTS_QUEUE

log = get_logger(__name__)

QUEUE = ALERTS_QUEUE
BINDINGS = [
    AccountStatusChanged.TYPE,
    AccountRefreshFailed.TYPE,
    PoolUnavailable.TYPE,
    ApiKeyLimitReached.TYPE,
    EgressProxyUnhealthy.TYPE,
    AccountProbeFailed.TYPE,
]


class AlertConsumer:
    def __init__(self, *, pool: asyncpg.Pool, wake: Callable[[], None]) -> None:
        self._pool = pool
        self._wake = wake  # the dispatcher: deliveries are due now
        self._inbox = Inbox(QUEUE)

    async def handle(self, envelope: Envelope) -> None:
        event = envelope.event()
        async with self._pool.acquire() as conn, conn.transaction():
            if not await self._inbox.claim(conn, [envelope.id]):
                return
            alert = await _alert(conn, event)
            if alert is None:
                return
            alert_type, user_id, data = alert
            if user_id is not None:
                data["username"] = (await usernames(conn, user_ids=[user_id])).get(user_id)
            added = await enqueue_alert(
                conn,
                event_id=envelope.id,
                alert_type=alert_type,
                user_id=user_id,
                occurred_at=envelope.occurred_at,
                data=data,
            )
        if added:
            log.info("webhook.alert_queued", alert=alert_type, deliveries=added, event_id=envelope.id)
            self._wake()


async def _alert(conn: asyncpg.Connection, event: Event) -> tuple[str, UUID | None, dict[str, Any]] | None:
    """(alert type, whose it is, its data), or None for an event that is no alert."""
    if isinstance(event, AccountStatusChanged):
        if event.status not in ("invalid", "exhausted"):
            return None
        return await _account_alert(
            conn, f"account.{event.status}", event, reason=event.reason, status=event.status
        )
    if isinstance(event, AccountRefreshFailed):
        if not event.final:
            return None
        return await _account_alert(conn, "account.refresh_failed", event, reason=event.reason)
    if isinstance(event, AccountProbeFailed):
        probe = event.model_dump(mode="json", include={"method", "status", "detail"})
        return await _account_alert(conn, "account.probe_failed", event, **probe)
    if isinstance(event, PoolUnavailable):
        return "pool.unavailable", UUID(event.user_id), event.model_dump(mode="json")
    if isinstance(event, ApiKeyLimitReached):
        if event.limit != "tokens_per_day":
            return None
        return "api_key.limit_reached", UUID(event.user_id), event.model_dump(mode="json")
    if isinstance(event, EgressProxyUnhealthy):
        return "egress_proxy.unhealthy", UUID(event.user_id), event.model_dump(mode="json")
    return None


async def _account_alert(
    conn: asyncpg.Connection,
    alert_type: str,
    event: AccountStatusChanged | AccountRefreshFailed | AccountProbeFailed,
    **extra: Any,
) -> tuple[str, UUID | None, dict[str, Any]]:
    account = await accounts.get(conn, account_id=UUID(event.account_id))
    data: dict[str, Any] = {
        "account_id": event.account_id,
        "kind": event.kind,
        "name": account.name if account else None,
        **extra,
    }
    owner = account.owner_id if account else None
    data["user_id"] = str(owner) if owner else None
    return alert_type, owner, data
