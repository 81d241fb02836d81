"""`/api/v1/users` (admins) and `/api/v1/me`."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.account_service.deps import AdminUser, CurrentUser, Tx
from services.account_service.keys.schemas import Me
from services.account_service.users import service
from services.account_service.users.schemas import User, UserAdminUpdate, UserCreate

router = APIRouter(tags=["users"])


@router.get("/me", summary="Who this API key belongs to")
async def me(caller: CurrentUser) -> Me:
    return Me(
        user_id=caller.user_id,
        username=caller.username,
        is_admin=caller.is_admin,
        key_id=caller.key_id,
        key_prefix=caller.key_prefix,
        key_name=caller.key_name,
    )


@router.post("/users", status_code=201, summary="Create a user (admins)")
async def create_user(body: UserCreate, conn: Tx, _: AdminUser) -> User:
    return await service.create_user(conn, username=body.username, is_admin=body.is_admin)


@router.get("/users", summary="List users (admins)")
async def list_users(conn: Tx, _: AdminUser) -> list[User]:
    return await service.list_users(conn)


@router.post("/users/{user_id}/disable", summary="Disable a user: their API keys stop working (admins)")
async def disable_user(user_id: UUID, conn: Tx, caller: AdminUser) -> User:
    return await service.set_user_disabled(conn, actor=caller, user_id=user_id, disabled=True)


@router.post("/users/{user_id}/enable", summary="Enable a user again (admins)")
async def enable_user(user_id: UUID, conn: Tx, caller: AdminUser) -> User:
    return await service.set_user_disabled(conn, actor=caller, user_id=user_id, disabled=False)


@router.post(
    "/users/{user_id}/admin", summary="Give or take away a user's admin rights (admins; not one's own)"
)
async def set_admin(user_id: UUID, body: UserAdminUpdate, conn: Tx, caller: AdminUser) -> User:
    return await service.set_user_admin(conn, actor=caller, user_id=user_id, is_admin=body.is_admin)
