"""`/api/v1/keys`: PoolGate API keys. The plaintext is shown once, at creation; lists show a prefix."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from services.account_service.deps import CurrentUser, Tx
from services.account_service.keys import service
from services.account_service.keys.schemas import ApiKey, KeyCreate, KeyCreated, KeyLimits, KeyUpdate
from services.account_service.users.service import resolve_owner

router = APIRouter(prefix="/keys", tags=["API keys"])

UserQuery = Annotated[str | None, Query(description="Admins only: another user's username")]


@router.post("", status_code=201, summary="Create an API key; the answer is the only time the key is shown")
async def create_key(body: KeyCreate, conn: Tx, caller: CurrentUser, user: UserQuery = None) -> KeyCreated:
    owner = await resolve_owner(conn, actor=caller, username=user, param="user")
    limits = KeyLimits(**body.model_dump(include=set(KeyLimits.model_fields)))
    key, plaintext = await service.create_key(conn, username=owner.username, name=body.name, limits=limits)
    return KeyCreated(**key.model_dump(), key=plaintext)


@router.get("", summary="List API keys (own; admins may name a user)")
async def list_keys(conn: Tx, caller: CurrentUser, user: UserQuery = None) -> list[ApiKey]:
    owner = await resolve_owner(conn, actor=caller, username=user, param="user")
    return await service.list_keys(conn, user_id=owner.id)


@router.get("/{key_id}", summary="One API key, with its limits")
async def get_key(key_id: UUID, conn: Tx, caller: CurrentUser) -> ApiKey:
    return await service.get_key(conn, actor=caller, key_id=key_id)


@router.patch(
    "/{key_id}",
    summary="Change an API key's name or limits; a limit set to null goes back to the operator's default",
)
async def update_key(key_id: UUID, body: KeyUpdate, conn: Tx, caller: CurrentUser) -> ApiKey:
    return await service.update_key(conn, actor=caller, key_id=key_id, update=body)


@router.post("/{key_id}/enable", summary="Enable an API key")
async def enable_key(key_id: UUID, conn: Tx, caller: CurrentUser) -> ApiKey:
    return await service.set_key_enabled(conn, actor=caller, key_id=key_id, enabled=True)


@router.post("/{key_id}/disable", summary="Disable an API key: it is refused from now on")
async def disable_key(key_id: UUID, conn: Tx, caller: CurrentUser) -> ApiKey:
    return await service.set_key_enabled(conn, actor=caller, key_id=key_id, enabled=False)


@router.delete("/{key_id}", status_code=204, response_class=Response, summary="Delete an API key")
async def delete_key(key_id: UUID, conn: Tx, caller: CurrentUser) -> Response:
    await service.delete_key(conn, actor=caller, key_id=key_id)
    return Response(status_code=204)
