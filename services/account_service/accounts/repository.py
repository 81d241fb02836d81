from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.account_service.accounts.schemas import Account

_COLUMNS = (
    "id, owner_id, kind, name, visibility, status, status_reason, status_changed_at, weight,"
    " max_concurrency, settings, secrets, success_count, fail_count, last_used_at, created_at, updated_at"
)


async def insert(
    conn: asyncpg.Connection,
    *,
    owner_id: UUID,
    kind: str,
    name: str,
    visibility: str,
    status: str,
    weight: int,
    max_concurrency: int,
    settings: dict[str, Any],
    secrets: str,
) -> Account:
    row = await conn.fetchrow(
        "INSERT INTO accounts (owner_id, kind, name, visibility, status, weight, max_concurrency, settings, secrets)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {_COLUMNS}",
        owner_id,
        kind,
        name,
        visibility,
        status,
        weight,
        max_concurrency,
        settings,
        secrets,
    )
    return Account(**row)


async def get(conn: asyncpg.Connection | asyncpg.Pool, *, account_id: UUID) -> Account | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM accounts WHERE id = $1", account_id)
    return Account(**row) if row else None


async def list_active(conn: asyncpg.Connection | asyncpg.Pool) -> list[Account]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM accounts WHERE status = 'active'")
    return [Account(**r) for r in rows]


async def add_outcomes(
    conn: asyncpg.Connection,
    *,
    account_ids: Sequence[UUID],
    successes: Sequence[int],
    failures: Sequence[int],
    last_used: Sequence[datetime],
) -> None:
    """Apply a batch of counted outcomes in one statement."""
    await conn.execute(
        "UPDATE accounts a SET success_count = a.success_count + u.ok, fail_count = a.fail_count + u.failed,"
        " last_used_at = GREATEST(a.last_used_at, u.at)"
        " FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::timestamptz[]) AS u(id, ok, failed, at)"
        " WHERE a.id = u.id",
        account_ids,
        successes,
        failures,
        last_used,
    )
