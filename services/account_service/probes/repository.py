"""`account_probes` and the probe columns of `accounts`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from services.account_service.probes.schemas import ProbeOut

# The statuses a scheduled probe is worth running for: a probe can bring back an exhausted account
# (and a cooling one, which is active); pending, invalid and disabled ones wait for a person or a refresh.
PROBED_STATUSES = ("active", "exhausted")


async def set_schedule(conn: asyncpg.Connection, *, account_id: UUID, enabled: bool, interval_s: int) -> None:
    """Turn probing on or off; turning it on (or changing the interval) makes the next one due at once."""
    await conn.execute(
        "UPDATE accounts SET probe_enabled = $2, probe_interval_s = $3, probe_due_at = NULL,"
        " updated_at = now() WHERE id = $1",
        account_id,
        enabled,
        interval_s,
    )


async def claim_due(conn: asyncpg.Connection, *, now: datetime, limit: int) -> list[asyncpg.Record]:
    """The accounts whose probe is due, each moved on by its interval in the same statement (rows
    another transaction holds are skipped, so two passes never claim one account twice)."""
    return await conn.fetch(
        "WITH due AS (SELECT id FROM accounts WHERE probe_enabled AND status = ANY($3::text[])"
        "   AND (probe_due_at IS NULL OR probe_due_at <= $1)"
        "   ORDER BY probe_due_at NULLS FIRST LIMIT $2 FOR UPDATE SKIP LOCKED)"
        " UPDATE accounts a SET probe_due_at = $1 + make_interval(secs => a.probe_interval_s)"
        " FROM due WHERE a.id = due.id RETURNING a.id, a.kind",
        now,
        limit,
        list(PROBED_STATUSES),
    )


async def add(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    at: datetime,
    ok: bool,
    latency_ms: int | None,
    status: int | None,
    method: str,
    detail: str | None,
    reenabled: bool,
    keep: int,
) -> ProbeOut:
    """Store one result and drop the account's results beyond the latest `keep`."""
    row = await conn.fetchrow(
        "INSERT INTO account_probes (account_id, at, ok, latency_ms, status, method, detail, reenabled)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " RETURNING at, ok, latency_ms, status, method, detail, reenabled",
        account_id,
        at,
        ok,
        latency_ms,
        status,
        method,
        detail,
        reenabled,
    )
    await conn.execute(
        "DELETE FROM account_probes WHERE account_id = $1 AND id NOT IN"
        " (SELECT id FROM account_probes WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT $2)",
        account_id,
        keep,
    )
    return ProbeOut(**row)


async def last_ok(conn: asyncpg.Connection, *, account_id: UUID) -> bool | None:
    """Whether the account's latest stored probe was healthy (None: it has none)."""
    return await conn.fetchval(
        "SELECT ok FROM account_probes WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT 1", account_id
    )


async def recent(conn: asyncpg.Connection, *, account_id: UUID, limit: int) -> list[ProbeOut]:
    rows = await conn.fetch(
        "SELECT at, ok, latency_ms, status, method, detail, reenabled FROM account_probes"
        " WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        account_id,
        limit,
    )
    return [ProbeOut(**r) for r in rows]
