"""Error rules, and the version row that tells a replica its cached rules are stale."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from services.account_service.error_rules.schemas import ErrorRule

_COLUMNS = (
    "id, user_id, position, name, kind, account_id, status_code, match_type, pattern, action, seconds,"
    " until_next_day, reason, enabled, created_at, updated_at"
)
# The columns an update may set (each one given explicitly: None clears an optional condition).
FIELDS = (
    "position",
    "name",
    "kind",
    "account_id",
    "status_code",
    "match_type",
    "pattern",
    "action",
    "seconds",
    "until_next_day",
    "reason",
    "enabled",
)


async def _bump(conn: asyncpg.Connection) -> None:
    await conn.execute("UPDATE error_rules_version SET version = version + 1")


async def version(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    return await conn.fetchval("SELECT version FROM error_rules_version")


async def create(conn: asyncpg.Connection, *, user_id: UUID | None, values: dict[str, Any]) -> ErrorRule:
    row = await conn.fetchrow(
        f"INSERT INTO error_rules (user_id, {', '.join(FIELDS)})"
        f" VALUES ($1, {', '.join(f'${i}' for i in range(2, len(FIELDS) + 2))}) RETURNING {_COLUMNS}",
        user_id,
        *(values[f] for f in FIELDS),
    )
    await _bump(conn)
    return ErrorRule(**row)


async def get(conn: asyncpg.Connection, *, rule_id: UUID) -> ErrorRule | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM error_rules WHERE id = $1", rule_id)
    return ErrorRule(**row) if row else None


async def listing(conn: asyncpg.Connection | asyncpg.Pool, *, user_id: UUID | None) -> list[ErrorRule]:
    """A user's rules and the global ones, or (None) every rule; in the order they are tried."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM error_rules WHERE $1::uuid IS NULL OR user_id = $1 OR user_id IS NULL"
        " ORDER BY position, created_at, id",
        user_id,
    )
    return [ErrorRule(**row) for row in rows]


async def update(conn: asyncpg.Connection, *, rule_id: UUID, values: dict[str, Any]) -> ErrorRule:
    sets = ", ".join(f"{f} = ${i}" for i, f in enumerate(FIELDS, start=2))
    row = await conn.fetchrow(
        f"UPDATE error_rules SET {sets}, updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
        rule_id,
        *(values[f] for f in FIELDS),
    )
    await _bump(conn)
    return ErrorRule(**row)


async def delete(conn: asyncpg.Connection, *, rule_id: UUID) -> None:
    await conn.execute("DELETE FROM error_rules WHERE id = $1", rule_id)
    await _bump(conn)
