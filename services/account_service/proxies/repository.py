"""Egress proxies and which accounts use them."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import asyncpg

from services.account_service.proxies.schemas import StoredProxy

_COLUMNS = (
    "p.id, p.user_id, p.name, p.scheme, p.host, p.port, p.username, p.password, p.region, p.healthy,"
    " p.last_error, p.last_checked_at, p.latency_ms, p.exit_ip, p.exit_country, p.created_at, p.updated_at,"
    " (SELECT count(*) FROM accounts a WHERE a.egress_proxy_id = p.id)::int AS accounts"
)
_EDITABLE = ("name", "scheme", "host", "port", "username", "password", "region")


async def create(conn: asyncpg.Connection, *, user_id: UUID, fields: dict) -> StoredProxy:
    row = await conn.fetchrow(
        "INSERT INTO egress_proxies AS p (user_id, name, scheme, host, port, username, password, region)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_COLUMNS}",
        user_id,
        *(fields.get(name) for name in _EDITABLE),
    )
    return StoredProxy(**row)


async def get(conn: asyncpg.Connection | asyncpg.Pool, *, proxy_id: UUID) -> StoredProxy | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM egress_proxies p WHERE p.id = $1", proxy_id)
    return StoredProxy(**row) if row else None


async def listing(conn: asyncpg.Connection, *, user_id: UUID | None) -> list[StoredProxy]:
    """A user's proxies, or (None) everyone's."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM egress_proxies p WHERE $1::uuid IS NULL OR p.user_id = $1"
        " ORDER BY lower(p.name), p.id",
        user_id,
    )
    return [StoredProxy(**row) for row in rows]


async def update(conn: asyncpg.Connection, *, proxy_id: UUID, fields: dict) -> StoredProxy:
    """Set the given fields (a None value clears a nullable one); a changed address, scheme or
    credential forgets the health, which was the old proxy's."""
    names = [name for name in _EDITABLE if name in fields]
    sets = [f"{name} = ${i}" for i, name in enumerate(names, start=2)]
    if {"scheme", "host", "port", "username", "password"} & set(names):
        sets += [
            "healthy = NULL",
            "last_error = NULL",
            "latency_ms = NULL",
            "exit_ip = NULL",
            "exit_country = NULL",
        ]
    row = await conn.fetchrow(
        f"UPDATE egress_proxies p SET {', '.join([*sets, 'updated_at = now()'])}"
        f" WHERE p.id = $1 RETURNING {_COLUMNS}",
        proxy_id,
        *(fields[name] for name in names),
    )
    return StoredProxy(**row)


async def delete(conn: asyncpg.Connection, *, proxy_id: UUID) -> None:
    await conn.execute("DELETE FROM egress_proxies WHERE id = $1", proxy_id)


async def record_health(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    proxy_id: UUID,
    healthy: bool,
    error: str | None,
    latency_ms: float | None = None,
    exit_ip: str | None = None,
    exit_country: str | None = None,
) -> bool:
    """What a test or an attempt found; a failure keeps the last exit IP and country seen. True if
    this turned the proxy unhealthy (it was healthy or never checked): read and written in one
    statement, the row locked, so of two concurrent failures only one sees the turn."""
    turned = await conn.fetchval(
        "WITH before AS (SELECT id, healthy FROM egress_proxies WHERE id = $1 FOR UPDATE)"
        " UPDATE egress_proxies p SET healthy = $2, last_error = $3, last_checked_at = now(),"
        " latency_ms = CASE WHEN $2 THEN $4 ELSE p.latency_ms END,"
        " exit_ip = coalesce($5, p.exit_ip), exit_country = coalesce($6, p.exit_country)"
        " FROM before WHERE p.id = before.id RETURNING before.healthy IS NOT FALSE AND NOT $2",
        proxy_id,
        healthy,
        error,
        latency_ms,
        exit_ip,
        exit_country,
    )
    return bool(turned)


async def mark_working(conn: asyncpg.Connection, *, proxy_ids: list[UUID]) -> None:
    """Calls went through these proxies: healthy again (a write only for those that were not)."""
    await conn.execute(
        "UPDATE egress_proxies SET healthy = true, last_error = NULL, last_checked_at = now()"
        " WHERE id = ANY($1::uuid[]) AND healthy IS NOT TRUE",
        proxy_ids,
    )


async def rotate_passwords(conn: asyncpg.Connection, rotate: Callable[[str], str]) -> int:
    """Re-encrypt every proxy password (`rotate`: SecretBox.rotate); a row changed meanwhile keeps
    its newer password. How many were rotated."""
    rows = await conn.fetch("SELECT id, password FROM egress_proxies WHERE password IS NOT NULL")
    if not rows:
        return 0
    done = await conn.fetch(
        "UPDATE egress_proxies p SET password = t.new FROM unnest($1::uuid[], $2::text[], $3::text[])"
        " AS t (id, old, new) WHERE p.id = t.id AND p.password = t.old RETURNING p.id",
        [r["id"] for r in rows],
        [r["password"] for r in rows],
        [rotate(r["password"]) for r in rows],
    )
    return len(done)


async def account_ids(conn: asyncpg.Connection, *, proxy_id: UUID) -> list[UUID]:
    rows = await conn.fetch("SELECT id FROM accounts WHERE egress_proxy_id = $1 ORDER BY id", proxy_id)
    return [row["id"] for row in rows]


async def set_proxy(
    conn: asyncpg.Connection, *, account_ids: list[UUID], proxy_id: UUID | None
) -> list[tuple[UUID, str]]:
    """Put the accounts on the proxy (None: on none); (id, kind) of those whose proxy changed."""
    rows = await conn.fetch(
        "UPDATE accounts SET egress_proxy_id = $2, updated_at = now()"
        " WHERE id = ANY($1::uuid[]) AND egress_proxy_id IS DISTINCT FROM $2 RETURNING id, kind",
        account_ids,
        proxy_id,
    )
    return [(row["id"], row["kind"]) for row in rows]


async def unassigned_accounts(conn: asyncpg.Connection, *, user_id: UUID | None) -> list[asyncpg.Record]:
    """(id, owner_id, kind, region) of the accounts on no proxy, oldest first (disabled ones too: a
    proxy is set up before an account is turned on)."""
    return await conn.fetch(
        "SELECT id, owner_id, kind, region FROM accounts WHERE egress_proxy_id IS NULL"
        " AND ($1::uuid IS NULL OR owner_id = $1) ORDER BY created_at, id",
        user_id,
    )
