from __future__ import annotations

import asyncpg

from services.account_service.users import repository
from services.account_service.users.schemas import User
from shared.errors import Conflict, NotFound, Unprocessable


async def create_user(conn: asyncpg.Connection, *, username: str, is_admin: bool = False) -> User:
    try:
        return await repository.create(conn, username=username, is_admin=is_admin)
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"user {username!r} already exists", param="username") from exc
    except asyncpg.CheckViolationError as exc:
        raise Unprocessable(
            "username must be 1-64 characters of letters, digits and _.@-", param="username"
        ) from exc


async def get_user(conn: asyncpg.Connection, *, username: str) -> User:
    user = await repository.get_by_username(conn, username=username)
    if user is None:
        raise NotFound(f"no user named {username!r}", param="username")
    return user
