"""Storing what accounts have left (allocation/quota.py) and telling the replicas when it matters.

Readings come from the usage consumer (a custom API's rate-limit headers, a batch at a time) and from
the refresh worker's checks (Kiro's usage limits, Dreamina's credits). They are stored in one
statement per batch; `account.updated` (fields: quota) goes out through the outbox only for an
account whose pick weight moved by a step or more, so a busy account does not make every replica
reload it on every batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from services.account_service.accounts import repository
from services.account_service.allocation.quota import factor, spared, worth_announcing
from services.account_service.outbox.writer import record
from shared.messages.contracts import AccountUpdated


@dataclass(frozen=True, slots=True)
class QuotaReading:
    account_id: UUID
    source: str
    remaining: float
    limit: float | None  # None: the most the account has held (Dreamina credits)
    resets_at: datetime | None
    read_at: datetime


def _moved(before: tuple, after: tuple) -> bool:
    """Whether the pick would treat the account differently: its factor moved a step, or it became
    spared or stopped being spared (each tuple: remaining, limit, resets_at, runs_out_at)."""
    if spared(before[3], before[2]) != spared(after[3], after[2]):
        return True
    return worth_announcing(factor(before[0], before[1]), factor(after[0], after[1]))


async def store(conn: asyncpg.Connection, readings: Sequence[QuotaReading]) -> int:
    """Store `readings` (one per account); returns how many accounts were announced."""
    if not readings:
        return 0
    changes = await repository.set_quotas(
        conn,
        account_ids=[r.account_id for r in readings],
        sources=[r.source for r in readings],
        remaining=[r.remaining for r in readings],
        limits=[r.limit for r in readings],
        resets_at=[r.resets_at for r in readings],
        read_at=[r.read_at for r in readings],
    )
    announced = 0
    for change in changes:
        if change.before[0] is None or _moved(change.before, change.after):
            await record(
                conn, AccountUpdated(account_id=str(change.account_id), kind=change.kind, fields=["quota"])
            )
            announced += 1
    return announced
