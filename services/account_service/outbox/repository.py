from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from shared.messages import Envelope


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    body: bytes


async def add(conn: asyncpg.Connection, *, envelope: Envelope) -> None:
    await conn.execute(
        "INSERT INTO outbox (message_id, type, body) VALUES ($1, $2, $3)",
        envelope.id,
        envelope.type,
        envelope.to_bytes(),
    )


async def claim(conn: asyncpg.Connection, *, limit: int) -> list[OutboxRow]:
    """Lock the oldest unsent rows; other relays skip them (SKIP LOCKED) instead of waiting."""
    rows = await conn.fetch("SELECT id, body FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
    return [OutboxRow(id=r["id"], body=bytes(r["body"])) for r in rows]


async def delete(conn: asyncpg.Connection, *, ids: list[int]) -> None:
    await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", ids)


async def pending_count(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM outbox")
