"""Re-encrypting every account's secrets with the newest key of the key set (`poolgate secrets rotate`)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.account_service.accounts import repository
from shared.crypto import SecretBox


async def rotate_batch(
    conn: asyncpg.Connection, box: SecretBox, *, after: UUID | None, limit: int
) -> tuple[int, UUID | None]:
    """Rotate the next `limit` accounts after `after` (id order); returns (rows rotated, last id seen).

    A row changed since it was read keeps its newer secrets: they were written with the newest key anyway.
    """
    batch = await repository.secrets_after(conn, after=after, limit=limit)
    if not batch:
        return 0, None
    rotated = await repository.replace_secrets(
        conn,
        account_ids=[s.account_id for s in batch],
        old=[s.token for s in batch],
        new=[box.rotate(s.token) for s in batch],
    )
    return rotated, batch[-1].account_id
