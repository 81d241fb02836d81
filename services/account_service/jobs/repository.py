from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.account_service.accounts.schemas import LastCheck
from services.account_service.jobs.schemas import Job, JobItem

_JOB = (
    "j.id, j.action, j.user_id, u.username AS requested_by, j.params, j.correlation_id, j.status, j.total,"
    " j.queued, j.skipped, j.created_at, j.updated_at, j.finished_at"
)
_FROM = "jobs j JOIN users u ON u.id = j.user_id"
# Which accounts each refresh scope takes: never disabled ones, never custom API accounts.
_SCOPES = {
    "due": "(credential_expires_at IS NULL OR credential_expires_at < $4)",
    "all": "true",
    "unavailable": "status IN ('invalid', 'exhausted', 'pending')",
}


async def insert(
    conn: asyncpg.Connection,
    *,
    action: str,
    user_id: UUID,
    params: dict[str, Any],
    correlation_id: str | None,
) -> UUID:
    return await conn.fetchval(
        "INSERT INTO jobs (action, user_id, params, correlation_id) VALUES ($1, $2, $3, $4) RETURNING id",
        action,
        user_id,
        params,
        correlation_id,
    )


async def add_refresh_items(
    conn: asyncpg.Connection,
    *,
    job_id: UUID,
    scope: str,
    owner_id: UUID | None,
    kind: str | None,
    due_before: datetime | None,
) -> int:
    """One item per account the scope takes (of one owner, or everyone's), oldest first; the job's
    total is set to their number, which is returned."""
    total = await conn.fetchval(
        "WITH added AS (INSERT INTO job_items (job_id, position, account_id, account_name)"
        " SELECT $1, row_number() OVER (ORDER BY created_at, id), id, name FROM accounts"
        " WHERE kind IN ('kiro', 'dreamina') AND status <> 'disabled'"
        f" AND ($2::uuid IS NULL OR owner_id = $2) AND ($3::text IS NULL OR kind = $3) AND {_SCOPES[scope]}"
        " RETURNING 1) SELECT count(*) FROM added",
        job_id,
        owner_id,
        kind,
        *([due_before] if scope == "due" else []),
    )
    await conn.execute("UPDATE jobs SET total = $2 WHERE id = $1", job_id, total)
    return total


async def get(conn: asyncpg.Connection, *, job_id: UUID) -> Job | None:
    row = await conn.fetchrow(f"SELECT {_JOB} FROM {_FROM} WHERE j.id = $1", job_id)
    return Job(**row) if row else None


async def search(
    conn: asyncpg.Connection, *, user_id: UUID | None, limit: int, offset: int
) -> tuple[list[Job], int]:
    """One page of jobs (of one user, or everyone's), newest first, and how many there are."""
    total = await conn.fetchval("SELECT count(*) FROM jobs WHERE $1::uuid IS NULL OR user_id = $1", user_id)
    rows = await conn.fetch(
        f"SELECT {_JOB} FROM {_FROM} WHERE $1::uuid IS NULL OR j.user_id = $1"
        " ORDER BY j.created_at DESC, j.id LIMIT $2 OFFSET $3",
        user_id,
        limit,
        offset,
    )
    return [Job(**r) for r in rows], total


async def items(conn: asyncpg.Connection, *, job_id: UUID, limit: int, offset: int) -> list[JobItem]:
    """One page of a job's items, each with its account's credential check if one came after it."""
    rows = await conn.fetch(
        "SELECT i.position, i.account_id, i.account_name, i.state, i.reason, i.done_at,"
        " a.last_check_at, a.last_check_ok, a.last_check_kind, a.last_check_reason"
        " FROM job_items i LEFT JOIN accounts a"
        "   ON a.id = i.account_id AND i.state = 'queued' AND a.last_check_at >= i.done_at"
        "   AND a.last_check_ok IS NOT NULL"
        " WHERE i.job_id = $1 ORDER BY i.position LIMIT $2 OFFSET $3",
        job_id,
        limit,
        offset,
    )
    return [
        JobItem(
            position=r["position"],
            account_id=r["account_id"],
            account_name=r["account_name"],
            state=r["state"],
            reason=r["reason"],
            done_at=r["done_at"],
            check=None
            if r["last_check_at"] is None
            else LastCheck(
                at=r["last_check_at"],
                ok=r["last_check_ok"],
                kind=r["last_check_kind"],
                reason=r["last_check_reason"],
            ),
        )
        for r in rows
    ]


async def claim_running(conn: asyncpg.Connection) -> Job | None:
    """The oldest running job no other replica is working on, locked until the transaction ends."""
    row = await conn.fetchrow(
        f"SELECT {_JOB} FROM {_FROM} WHERE j.status = 'running' ORDER BY j.created_at, j.id"
        " LIMIT 1 FOR UPDATE OF j SKIP LOCKED"
    )
    return Job(**row) if row else None


async def pending_items(conn: asyncpg.Connection, *, job_id: UUID, limit: int) -> list[JobItem]:
    rows = await conn.fetch(
        "SELECT position, account_id, account_name, state, reason, done_at FROM job_items"
        " WHERE job_id = $1 AND state = 'pending' ORDER BY position LIMIT $2",
        job_id,
        limit,
    )
    return [JobItem(**r) for r in rows]


async def settle_items(
    conn: asyncpg.Connection,
    *,
    job_id: UUID,
    positions: Sequence[int],
    states: Sequence[str],
    reasons: Sequence[str | None],
) -> Job:
    """Record the items' results and add them to the job's counts; the job is finished when every
    item has its result."""
    await conn.execute(
        "UPDATE job_items i SET state = u.state, reason = u.reason, done_at = now()"
        " FROM unnest($2::integer[], $3::text[], $4::text[]) AS u(position, state, reason)"
        " WHERE i.job_id = $1 AND i.position = u.position",
        job_id,
        positions,
        states,
        reasons,
    )
    queued = sum(1 for s in states if s == "queued")
    row = await conn.fetchrow(
        "WITH j AS (UPDATE jobs SET queued = queued + $2, skipped = skipped + $3, updated_at = now(),"
        "   status = CASE WHEN queued + skipped + $2 + $3 >= total THEN 'finished' ELSE status END,"
        "   finished_at = CASE WHEN queued + skipped + $2 + $3 >= total THEN now() END"
        f"   WHERE id = $1 RETURNING *) SELECT {_JOB} FROM j JOIN users u ON u.id = j.user_id",
        job_id,
        queued,
        len(states) - queued,
    )
    return Job(**row)


async def prune(conn: asyncpg.Connection, *, finished_before: datetime) -> int:
    result = await conn.execute("DELETE FROM jobs WHERE finished_at < $1", finished_before)
    return int(result.split()[-1])
