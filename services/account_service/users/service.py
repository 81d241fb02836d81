from __future__ import annotations

from uuid import UUID

import asyncpg

from services.account_service.outbox.writer import record
from services.account_service.users import passwords, repository
from services.account_service.users.schemas import Actor, User
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.messages.contracts import UserChanged


async def create_user(
    conn: asyncpg.Connection, *, username: str, is_admin: bool = False, password: str | None = None
) -> User:
    """A new user; with `password`, one who can sign in to the console at once."""
    if password is not None:
        passwords.check_new(password)  # before the insert: a refused password leaves no user behind
    try:
        user = await repository.create(conn, username=username, is_admin=is_admin)
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"user {username!r} already exists", param="username", code="username_taken") from exc
    except asyncpg.CheckViolationError as exc:
        raise Unprocessable(
            "username must be 1-64 characters of letters, digits and _.@-",
            param="username",
            code="invalid_username",
        ) from exc
    if password is None:
        return user
    await passwords.set_password(conn, user_id=user.id, password=password)
    return user.model_copy(update={"has_password": True})


async def get_user(conn: asyncpg.Connection, *, username: str) -> User:
    user = await repository.get_by_username(conn, username=username)
    if user is None:
        raise NotFound(f"no user named {username!r}", param="username")
    return user


async def get_user_by_id(conn: asyncpg.Connection, *, user_id: UUID) -> User:
    user = await repository.get(conn, user_id=user_id)
    if user is None:
        raise NotFound("no such user", param="user_id")
    return user


async def list_users(conn: asyncpg.Connection) -> list[User]:
    return await repository.list_all(conn)


async def set_user_disabled(conn: asyncpg.Connection, *, actor: Actor, user_id: UUID, disabled: bool) -> User:
    """Disable or enable a user; every replica forgets what it cached of the user's keys."""
    if disabled and user_id == actor.user_id:
        raise Conflict("you cannot disable yourself", param="user_id", code="cannot_disable_self")
    user = await repository.set_disabled(conn, user_id=user_id, disabled=disabled)
    if user is None:
        raise NotFound("no such user", param="user_id")
    await record(conn, UserChanged(user_id=str(user.id)))
    return user


async def set_user_admin(conn: asyncpg.Connection, *, actor: Actor, user_id: UUID, is_admin: bool) -> User:
    """Give or take away admin rights; every replica reloads what it cached of the user's keys. An
    admin cannot take their own away (the last admin could lock everyone out)."""
    if not is_admin and user_id == actor.user_id:
        raise Conflict("you cannot remove your own admin rights", param="user_id", code="cannot_demote_self")
    user = await repository.set_admin(conn, user_id=user_id, is_admin=is_admin)
    if user is None:
        raise NotFound("no such user", param="user_id")
    await record(conn, UserChanged(user_id=str(user.id)))
    return user


async def reset_password(
    conn: asyncpg.Connection, *, user_id: UUID, password: str, keep_session: bytes | None = None
) -> User:
    """An admin sets a user's password: their console sessions end (but `keep_session`)."""
    user = await get_user_by_id(conn, user_id=user_id)
    await passwords.set_password(conn, user_id=user.id, password=password, keep_session=keep_session)
    return user.model_copy(update={"has_password": True})


async def resolve_owner(
    conn: asyncpg.Connection, *, actor: Actor, username: str | None, param: str = "owner"
) -> User:
    """The user a change is made for: the actor, or (admins only) the user they name."""
    if username is None or username == actor.username:
        user = await repository.get(conn, user_id=actor.user_id)
        if user is None:
            raise NotFound("your user no longer exists")
        return user
    if not actor.is_admin:
        raise Forbidden("only admins may act for another user", param=param)
    return await get_user(conn, username=username)


async def owner_scope(conn: asyncpg.Connection, *, actor: Actor, owner: str | None) -> UUID | None:
    """Whose things (accounts, keys) a list or an action over many takes: the named owner's (admins
    may name anyone), else the actor's own, or everyone's (None) for an admin."""
    if owner is not None:
        return (await resolve_owner(conn, actor=actor, username=owner)).id
    return None if actor.is_admin else actor.user_id


async def usernames(conn: asyncpg.Connection, *, user_ids: list[UUID]) -> dict[UUID, str]:
    return await repository.usernames(conn, user_ids=user_ids)
