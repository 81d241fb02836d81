from __future__ import annotations

import asyncpg

from services.account_service.keys import hashing, repository
from services.account_service.keys.schemas import ApiKey
from services.account_service.users.service import get_user


async def create_key(conn: asyncpg.Connection, *, username: str, name: str | None = None) -> tuple[ApiKey, str]:
    """Returns the stored key and its plaintext, which is never stored and shown only now."""
    user = await get_user(conn, username=username)
    plaintext = hashing.new_key()
    key = await repository.create(
        conn,
        user_id=user.id,
        name=name,
        prefix=hashing.display_prefix(plaintext),
        key_hash=hashing.key_hash(plaintext),
    )
    return key, plaintext
