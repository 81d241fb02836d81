from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from services.account_service.keys.schemas import ApiKey, CallerRecord, KeyIdentity, KeyLimits

_LIMITS = "requests_per_minute, concurrency, tokens_per_day, allowed_models"
_KEY_LIMITS = "k.requests_per_minute, k.concurrency, k.tokens_per_day, k.allowed_models"
_COLUMNS = f"id, user_id, name, prefix, enabled, request_count, last_used_at, created_at, {_LIMITS}"


async def create(
    conn: asyncpg.Connection,
    *,
    user_id: UUID,
    name: str | None,
    prefix: str,
    key_hash: bytes,
    limits: KeyLimits | None = None,
) -> ApiKey:
    limits = limits or KeyLimits()
    row = await conn.fetchrow(
        f"INSERT INTO api_keys (user_id, name, prefix, key_hash, {_LIMITS})"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_COLUMNS}",
        user_id,
        name,
        prefix,
        key_hash,
        limits.requests_per_minute,
        limits.concurrency,
        limits.tokens_per_day,
        limits.allowed_models,
    )
    return ApiKey(**row)


_UPDATABLE = ("name", *KeyLimits.model_fields)


async def update(conn: asyncpg.Connection, *, key_id: UUID, changes: dict[str, object]) -> ApiKey:
    """Set the named columns (a key's name and limits) to the values given."""
    columns = [c for c in _UPDATABLE if c in changes]
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(columns, start=2))
    row = await conn.fetchrow(
        f"UPDATE api_keys SET {assignments} WHERE id = $1 RETURNING {_COLUMNS}",
        key_id,
        *(changes[c] for c in columns),
    )
    return ApiKey(**row)


async def identity_by_hash(conn: asyncpg.Connection, *, key_hash: bytes) -> KeyIdentity | None:
    row = await conn.fetchrow(
        "SELECT k.id, k.user_id, k.enabled, u.disabled_at IS NOT NULL AS user_disabled, u.is_admin,"
        f" {_KEY_LIMITS} FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1",
        key_hash,
    )
    return KeyIdentity(**row) if row else None


_IDENTITY = (
    "SELECT k.key_hash, k.id, k.user_id, k.enabled, u.disabled_at IS NOT NULL AS user_disabled, u.is_admin,"
    f" {_KEY_LIMITS} FROM api_keys k JOIN users u ON u.id = k.user_id"
)


async def identities(
    conn: asyncpg.Connection, *, key_id: UUID | None = None, user_id: UUID | None = None
) -> list[tuple[bytes, KeyIdentity]]:
    """(key hash, identity) of every key, or of one key, or of one user's keys."""
    if key_id is not None:
        rows = await conn.fetch(f"{_IDENTITY} WHERE k.id = $1", key_id)
    elif user_id is not None:
        rows = await conn.fetch(f"{_IDENTITY} WHERE k.user_id = $1", user_id)
    else:
        rows = await conn.fetch(_IDENTITY)
    return [
        (bytes(row["key_hash"]), KeyIdentity(**{k: v for k, v in row.items() if k != "key_hash"}))
        for row in rows
    ]


async def caller_by_hash(conn: asyncpg.Connection, *, key_hash: bytes) -> CallerRecord | None:
    row = await conn.fetchrow(
        "SELECT k.id AS key_id, k.prefix AS key_prefix, k.name AS key_name, k.enabled AS key_enabled,"
        " u.id AS user_id, u.username, u.is_admin, u.disabled_at IS NOT NULL AS user_disabled"
        " FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1",
        key_hash,
    )
    return CallerRecord(**row) if row else None


async def get(conn: asyncpg.Connection, *, key_id: UUID) -> ApiKey | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM api_keys WHERE id = $1", key_id)
    return ApiKey(**row) if row else None


async def listing(
    conn: asyncpg.Connection, *, user_id: UUID | None, limit: int | None = None, offset: int = 0
) -> list[ApiKey]:
    """One user's keys (everyone's for None), newest first; `limit` None: all of them."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM api_keys WHERE $1::uuid IS NULL OR user_id = $1"
        " ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
        user_id,
        limit,
        offset,
    )
    return [ApiKey(**r) for r in rows]


async def count(conn: asyncpg.Connection, *, user_id: UUID | None) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM api_keys WHERE $1::uuid IS NULL OR user_id = $1", user_id
    )


async def set_enabled(conn: asyncpg.Connection, *, key_id: UUID, enabled: bool) -> ApiKey:
    row = await conn.fetchrow(
        f"UPDATE api_keys SET enabled = $2 WHERE id = $1 RETURNING {_COLUMNS}", key_id, enabled
    )
    return ApiKey(**row)


async def delete(conn: asyncpg.Connection, *, key_id: UUID) -> None:
    await conn.execute("DELETE FROM api_keys WHERE id = $1", key_id)


async def add_usage(
    conn: asyncpg.Connection, *, key_ids: Sequence[UUID], counts: Sequence[int], last_used: Sequence[datetime]
) -> None:
    await conn.execute(
        "UPDATE api_keys k SET request_count = k.request_count + u.n,"
        " last_used_at = GREATEST(k.last_used_at, u.at)"
        " FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[]) AS u(id, n, at) WHERE k.id = u.id",
        key_ids,
        counts,
        last_used,
    )
