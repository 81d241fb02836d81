from __future__ import annotations

import asyncpg

from services.account_service.users.schemas import User

_COLUMNS = "id, username, is_admin, disabled_at, created_at"


async def create(conn: asyncpg.Connection, *, username: str, is_admin: bool) -> User:
    row = await conn.fetchrow(
        f"INSERT INTO users (username, is_admin) VALUES ($1, $2) RETURNING {_COLUMNS}", username, is_admin
    )
    return User(**row)


async def get_by_username(conn: asyncpg.Connection, *, username: str) -> User | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE username = $1", username)
    return User(**row) if row else None
