"""`/api/v1/proxies`: egress proxies. Passwords are write-only; URLs are shown redacted."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from services.account_service.deps import Box, CurrentUser, PrivateUpstreamsAllowed, Tx
from services.account_service.proxies import service
from services.account_service.proxies.schemas import (
    Assignment,
    AssignRequest,
    AutoAssignRequest,
    Proxy,
    ProxyCreate,
    ProxyTest,
    ProxyUpdate,
)
from services.account_service.users.service import owner_scope, resolve_owner

router = APIRouter(prefix="/proxies", tags=["proxies"])

UserQuery = Annotated[str | None, Query(description="Admins only: another user's username")]


@router.post("", status_code=201, summary="Add an egress proxy (http, https or socks5)")
async def create_proxy(
    body: ProxyCreate,
    conn: Tx,
    box: Box,
    caller: CurrentUser,
    allow_private: PrivateUpstreamsAllowed,
    user: UserQuery = None,
) -> Proxy:
    owner = await resolve_owner(conn, actor=caller, username=user, param="user")
    return await service.create_proxy(conn, box, owner_id=owner.id, spec=body, allow_private=allow_private)


@router.get("", summary="List egress proxies (own; admins: everyone's, or one user's)")
async def list_proxies(conn: Tx, caller: CurrentUser, user: UserQuery = None) -> list[Proxy]:
    return await service.list_proxies(conn, user_id=await owner_scope(conn, actor=caller, owner=user))


@router.post("/unassign", summary="Take accounts off their proxies (they connect directly again)")
async def unassign(body: AssignRequest, conn: Tx, caller: CurrentUser) -> Assignment:
    return await service.unassign(conn, actor=caller, account_ids=body.account_ids)


@router.post(
    "/auto-assign", summary="Put unassigned accounts on healthy proxies of their owner, least used first"
)
async def auto_assign(
    body: AutoAssignRequest, conn: Tx, caller: CurrentUser, user: UserQuery = None
) -> Assignment:
    return await service.auto_assign(
        conn,
        owner_id=await owner_scope(conn, actor=caller, owner=user),
        max_per_proxy=body.max_per_proxy,
        same_region_only=body.same_region_only,
    )


@router.get("/{proxy_id}", summary="An egress proxy")
async def get_proxy(proxy_id: UUID, conn: Tx, caller: CurrentUser) -> Proxy:
    return Proxy.of(await service.owned(conn, actor=caller, proxy_id=proxy_id))


@router.patch("/{proxy_id}", summary='Change a proxy; `password: ""` removes the password')
async def update_proxy(
    proxy_id: UUID,
    body: ProxyUpdate,
    conn: Tx,
    box: Box,
    caller: CurrentUser,
    allow_private: PrivateUpstreamsAllowed,
) -> Proxy:
    return await service.update_proxy(
        conn, box, actor=caller, proxy_id=proxy_id, spec=body, allow_private=allow_private
    )


@router.delete(
    "/{proxy_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a proxy; 409 while accounts use it (unassign them first)",
)
async def delete_proxy(proxy_id: UUID, conn: Tx, caller: CurrentUser) -> Response:
    await service.delete_proxy(conn, actor=caller, proxy_id=proxy_id)
    return Response(status_code=204)


@router.post("/{proxy_id}/test", summary="Fetch the echo URL through the proxy: latency, exit IP, country")
async def test_proxy(proxy_id: UUID, request: Request, conn: Tx, box: Box, caller: CurrentUser) -> ProxyTest:
    settings = request.app.state.settings
    return await service.test_proxy(
        conn,
        box,
        actor=caller,
        proxy_id=proxy_id,
        echo_url=settings.proxy_echo_url,
        timeout_s=settings.proxy_test_timeout_s,
    )


@router.post("/{proxy_id}/assign", summary="Put many accounts on this proxy")
async def assign(proxy_id: UUID, body: AssignRequest, conn: Tx, caller: CurrentUser) -> Assignment:
    return await service.assign(conn, actor=caller, proxy_id=proxy_id, account_ids=body.account_ids)
