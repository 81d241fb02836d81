"""Consumes `usage.recorded`: keeps live health, acts on outcomes, and adds the outcomes to the
account and key counters in one statement per batch (never a row per request). It releases nothing:
the proxy releases each lease directly when its attempt ends (`/internal/v1/leases`).

Ack policy: the batch is acked after its transaction commits; a failure retries the whole batch
through the delayed retry queue (the consumer's idempotency by envelope id makes the replay safe).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from uuid import UUID

import asyncpg

from services.account_service.accounts import repository as accounts
from services.account_service.accounts.service import change_status
from services.account_service.allocation.health import Health
from services.account_service.allocation.picker import Picker
from services.account_service.keys import repository as keys
from services.account_service.outbox.writer import record
from services.account_service.usage import outcomes
from shared.logging import get_logger
from shared.messages import Envelope
from shared.messages.contracts import AccountCredentialRejected, UsageRecorded

log = get_logger(__name__)

QUEUE = "account_service.usage"
BINDINGS = ["usage.recorded"]


class UsageConsumer:
    def __init__(self, *, pool: asyncpg.Pool, picker: Picker, health: Health) -> None:
        self._pool = pool
        self._picker = picker
        self._health = health

    async def handle(self, envelopes: list[Envelope]) -> None:
        usages = [(e.event(), e.occurred_at) for e in envelopes if e.type == UsageRecorded.TYPE]
        if not usages:
            return
        cooled = await self._health.record(
            [
                (u.account_id, u.outcome == "success", u.outcome in outcomes.SERVER_ERRORS)
                for u, _ in usages
                if u.outcome not in outcomes.NEUTRAL
            ]
        )
        for account_id, seconds in cooled.items():
            log.info("account.cooling", account_id=account_id, seconds=seconds, reason="server errors")
        for usage, _ in usages:
            if usage.outcome == "rate_limited":
                seconds = outcomes.rate_limit_cooldown(usage.retry_after)
                await self._picker.cool_down(usage.account_id, seconds)
                log.info(
                    "account.cooling", account_id=usage.account_id, seconds=seconds, reason="rate limited"
                )
        async with self._pool.acquire() as conn, conn.transaction():
            for usage, _ in usages:
                if usage.outcome in ("credential_rejected", "exhausted"):
                    await self._change_status(conn, usage)
            await self._count(conn, usages)

    async def _change_status(self, conn: asyncpg.Connection, usage: UsageRecorded) -> None:
        account = await accounts.get_for_update(conn, account_id=UUID(usage.account_id))
        if account is None or account.status != "active":
            return  # deleted, or already taken out of the pool by an earlier event
        if usage.outcome == "exhausted":
            until = outcomes.exhausted_until(account, retry_after=usage.retry_after, now=outcomes.utcnow())
            await change_status(
                conn,
                account=account,
                status="exhausted",
                reason=f"upstream quota exhausted (HTTP {usage.status_code})",
                until=until,
            )
            return
        reason = f"upstream rejected the credential (HTTP {usage.status_code})"
        if outcomes.renews_itself(account):
            await self._picker.cool_down(usage.account_id, outcomes.CREDENTIAL_COOLDOWN_S)
        else:
            await change_status(conn, account=account, status="invalid", reason=reason)
        await record(
            conn,
            AccountCredentialRejected(
                account_id=usage.account_id,
                kind=account.kind,
                status_code=usage.status_code or 0,
                reason=reason,
            ),
        )

    @staticmethod
    async def _count(conn: asyncpg.Connection, usages: list[tuple[UsageRecorded, datetime]]) -> None:
        per_account: dict[str, list] = defaultdict(lambda: [0, 0, None])
        per_key: dict[str, list] = defaultdict(lambda: [0, None])
        for usage, at in usages:
            tally = per_account[usage.account_id]
            tally[0 if usage.outcome == "success" else 1] += 1
            tally[2] = max(tally[2] or at, at)
            key = per_key[usage.api_key_id]
            key[0] += 1
            key[1] = max(key[1] or at, at)
        await accounts.add_outcomes(
            conn,
            account_ids=[UUID(a) for a in per_account],
            successes=[t[0] for t in per_account.values()],
            failures=[t[1] for t in per_account.values()],
            last_used=[t[2] for t in per_account.values()],
        )
        await keys.add_usage(
            conn,
            key_ids=[UUID(k) for k in per_key],
            counts=[t[0] for t in per_key.values()],
            last_used=[t[1] for t in per_key.values()],
        )
