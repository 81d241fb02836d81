from __future__ import annotations

from uuid import UUID

import asyncpg

from services.account_service.keys import hashing, repository
from services.account_service.keys.schemas import ApiKey, Caller, KeyLimits, KeyUpdate
from services.account_service.outbox.writer import record
from services.account_service.users.schemas import Actor
from services.account_service.users.service import get_user, owner_scope
from shared.errors import Forbidden, NotFound, Unauthenticated
from shared.messages.contracts import ApiKeyChanged


async def create_key(
    conn: asyncpg.Connection, *, username: str, name: str | None = None, limits: KeyLimits | None = None
) -> tuple[ApiKey, str]:
    """Returns the stored key and its plaintext, which is never stored and shown only now."""
    user = await get_user(conn, username=username)
    plaintext = hashing.new_key()
    key = await repository.create(
        conn,
        user_id=user.id,
        name=name,
        prefix=hashing.display_prefix(plaintext),
        key_hash=hashing.key_hash(plaintext),
        limits=limits,
    )
    await record(conn, ApiKeyChanged(key_id=str(key.id), user_id=str(user.id)))
    return key, plaintext


async def authenticate(conn: asyncpg.Connection, *, key: str) -> Caller:
    """The caller behind a management API key: 401 if unknown, 403 if the key or its user is disabled."""
    found = await repository.caller_by_hash(conn, key_hash=hashing.key_hash(key))
    if found is None:
        raise Unauthenticated("invalid API key", code="invalid_api_key")
    if not found.key_enabled:
        raise Forbidden("this API key is disabled", code="key_disabled")
    if found.user_disabled:
        raise Forbidden("this API key's user is disabled", code="user_disabled")
    return Caller(
        user_id=found.user_id,
        username=found.username,
        is_admin=found.is_admin,
        key_id=found.key_id,
        key_prefix=found.key_prefix,
        key_name=found.key_name,
    )


async def list_keys(conn: asyncpg.Connection, *, user_id: UUID) -> list[ApiKey]:
    return await repository.listing(conn, user_id=user_id)


async def page_of_keys(
    conn: asyncpg.Connection, *, actor: Actor, owner: str | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[ApiKey], int]:
    """One page of the keys the actor may see: their own, or (admins) everyone's or one user's; and
    how many there are in all."""
    user_id = await owner_scope(conn, actor=actor, owner=owner)
    keys = await repository.listing(conn, user_id=user_id, limit=per_page, offset=(page - 1) * per_page)
    return keys, await repository.count(conn, user_id=user_id)


async def _owned(conn: asyncpg.Connection, *, actor: Actor | None, key_id: UUID) -> ApiKey:
    """The key, if the actor may see it (None: the operator, through the CLI, sees every key)."""
    key = await repository.get(conn, key_id=key_id)
    if key is None or (actor is not None and not actor.may_see(key.user_id)):
        raise NotFound("no such API key", param="key_id")
    return key


async def get_key(conn: asyncpg.Connection, *, actor: Actor, key_id: UUID) -> ApiKey:
    return await _owned(conn, actor=actor, key_id=key_id)


async def update_key(
    conn: asyncpg.Connection, *, actor: Actor | None, key_id: UUID, update: KeyUpdate
) -> ApiKey:
    """Change the fields `update` was given (a limit given as null goes back to the default). Every
    replica reloads the key on `api_key.changed`, so new limits hold everywhere at once."""
    key = await _owned(conn, actor=actor, key_id=key_id)
    changes = {field: getattr(update, field) for field in update.model_fields_set}
    if all(getattr(key, field) == value for field, value in changes.items()):
        return key
    key = await repository.update(conn, key_id=key_id, changes=changes)
    await record(conn, ApiKeyChanged(key_id=str(key.id), user_id=str(key.user_id)))
    return key


async def set_key_enabled(conn: asyncpg.Connection, *, actor: Actor, key_id: UUID, enabled: bool) -> ApiKey:
    key = await _owned(conn, actor=actor, key_id=key_id)
    if key.enabled == enabled:
        return key
    key = await repository.set_enabled(conn, key_id=key_id, enabled=enabled)
    await record(conn, ApiKeyChanged(key_id=str(key.id), user_id=str(key.user_id)))
    return key


async def delete_key(conn: asyncpg.Connection, *, actor: Actor, key_id: UUID) -> None:
    key = await _owned(conn, actor=actor, key_id=key_id)
    await repository.delete(conn, key_id=key_id)
    await record(conn, ApiKeyChanged(key_id=str(key.id), user_id=str(key.user_id)))
