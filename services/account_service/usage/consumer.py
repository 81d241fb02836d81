"""Consumes `usage.recorded`: releases leases at once, cools accounts that were rate limited, and
adds the outcomes to the account and key counters in one statement per batch.

Ack policy: the batch is acked after its transaction commits; a failure retries the whole batch
through the delayed retry queue (the consumer's idempotency makes the replay safe).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from uuid import UUID

import asyncpg

from services.account_service.accounts import repository as accounts
from services.account_service.allocation.picker import Picker
from services.account_service.keys import repository as keys
from shared.logging import get_logger
from shared.messages import Envelope
from shared.messages.contracts import UsageRecorded

log = get_logger(__name__)

QUEUE = "account_service.usage"
BINDINGS = ["usage.recorded"]
DEFAULT_COOLDOWN_S = 30.0
MAX_COOLDOWN_S = 3600.0


class UsageConsumer:
    def __init__(self, *, pool: asyncpg.Pool, picker: Picker) -> None:
        self._pool = pool
        self._picker = picker

    async def handle(self, envelopes: list[Envelope]) -> None:
        events = [e.event() for e in envelopes]
        usages = [e for e in events if isinstance(e, UsageRecorded)]
        if not usages:
            return
        await self._picker.release([(u.account_id, u.lease_id) for u in usages])
        for usage in usages:
            if usage.outcome == "rate_limited":
                seconds = min(usage.retry_after or DEFAULT_COOLDOWN_S, MAX_COOLDOWN_S)
                await self._picker.cool_down(usage.account_id, seconds)
                log.info("account.cooling", account_id=usage.account_id, seconds=seconds)
        await self._count(usages, [e.occurred_at for e in envelopes if e.type == UsageRecorded.TYPE])

    async def _count(self, usages: list[UsageRecorded], times: list[datetime]) -> None:
        per_account: dict[str, list] = defaultdict(lambda: [0, 0, None])
        per_key: dict[str, list] = defaultdict(lambda: [0, None])
        for usage, at in zip(usages, times, strict=True):
            tally = per_account[usage.account_id]
            tally[0 if usage.outcome == "success" else 1] += 1
            tally[2] = max(tally[2] or at, at)
            key = per_key[usage.api_key_id]
            key[0] += 1
            key[1] = max(key[1] or at, at)
        async with self._pool.acquire() as conn, conn.transaction():
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
