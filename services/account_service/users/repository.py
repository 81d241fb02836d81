from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from services.account_service.users.schemas import User

_COLUMNS = "id, username, is_admin, disabled_at, created_at, password_hash IS NOT NULL AS has_password"


async def create(conn: asyncpg.Connection, *, username: str, is_admin: bool) -> User:
    row = await conn.fetchrow(
        f"INSERT INTO users (username, is_admin) VALUES ($1, $2) RETURNING {_COLUMNS}", username, is_admin
    )
    return User(**row)


async def get_by_username(conn: asyncpg.Connection, *, username: str) -> User | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE username = $1", username)
    return User(**row) if row else None


async def get(conn: asyncpg.Connection, *, user_id: UUID) -> User | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE id = $1", user_id)
    return User(**row) if row else None


async def list_all(conn: asyncpg.Connection) -> list[User]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM users ORDER BY created_at, username")
    return [User(**r) for r in rows]


async def set_disabled(conn: asyncpg.Connection, *, user_id: UUID, disabled: bool) -> User | None:
    """Disable (keeping the first time it was disabled) or enable a user. Disabling ends the user's
    console sessions: enabling them again later must not bring those back."""
    row = await conn.fetchrow(
        "UPDATE users SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, now()) END"
        f" WHERE id = $1 RETURNING {_COLUMNS}",
        user_id,
        disabled,
    )
    if row and disabled:
        await end_sessions(conn, user_id=user_id)
    return User(**row) if row else None


async def end_sessions(conn: asyncpg.Connection, *, user_id: UUID, keep: bytes | None = None) -> None:
    """End a user's console sessions, but the one whose token hash is `keep`."""
    await conn.execute(
        "DELETE FROM console_sessions WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2", user_id, keep
    )


async def set_admin(conn: asyncpg.Connection, *, user_id: UUID, is_admin: bool) -> User | None:
    row = await conn.fetchrow(
        f"UPDATE users SET is_admin = $2 WHERE id = $1 RETURNING {_COLUMNS}", user_id, is_admin
    )
    return User(**row) if row else None


async def usernames(conn: asyncpg.Connection, *, user_ids: Sequence[UUID]) -> dict[UUID, str]:
    rows = await conn.fetch("SELECT id, username FROM users WHERE id = ANY($1::uuid[])", list(set(user_ids)))
    return {r["id"]: r["username"] for r in rows}
