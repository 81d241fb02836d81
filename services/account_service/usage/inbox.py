"""Which messages a consumer has applied (the `consumed_messages` table), claimed inside the
transaction that applies them: a message claimed before is skipped, so effects happen once."""

from __future__ import annotations

import time
from collections.abc import Sequence

import asyncpg

_KEEP = "2 days"
_PRUNE_EVERY_S = 3600.0


class Inbox:
    def __init__(self, consumer: str) -> None:
        self._consumer = consumer
        self._pruned_at = 0.0

    async def claim(self, conn: asyncpg.Connection, message_ids: Sequence[str]) -> set[str]:
        """The ids among `message_ids` not applied before, now recorded as applied (by this
        transaction: a rollback un-claims them)."""
        rows = await conn.fetch(
            "INSERT INTO consumed_messages (consumer, message_id) SELECT $1, unnest($2::text[])"
            " ON CONFLICT DO NOTHING RETURNING message_id",
            self._consumer,
            list(message_ids),
        )
        await self._prune(conn)
        return {row["message_id"] for row in rows}

    async def _prune(self, conn: asyncpg.Connection) -> None:
        now = time.monotonic()
        if now - self._pruned_at < _PRUNE_EVERY_S:
            return
        self._pruned_at = now
        await conn.execute(
            f"DELETE FROM consumed_messages WHERE consumer = $1 AND consumed_at < now() - interval '{_KEEP}'",
            self._consumer,
        )
