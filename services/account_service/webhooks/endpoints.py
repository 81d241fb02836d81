"""`/api/v1/webhooks`: alerts by webhook. The signing secret is shown once, at creation."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from services.account_service.deps import (
    Box,
    CurrentUser,
    PageNumber,
    PerPage,
    PrivateUpstreamsAllowed,
    Tx,
    WakeDispatcher,
)
from services.account_service.users.service import owner_scope, resolve_owner
from services.account_service.webhooks import service
from services.account_service.webhooks.schemas import (
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookUpdate,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

UserQuery = Annotated[str | None, Query(description="Admins only: another user's username")]


@router.post("", status_code=201, summary="Create a webhook; the answer is the only time its secret is shown")
async def create_webhook(
    body: WebhookCreate,
    conn: Tx,
    box: Box,
    caller: CurrentUser,
    allow_private: PrivateUpstreamsAllowed,
    user: UserQuery = None,
) -> WebhookCreated:
    owner = await resolve_owner(conn, actor=caller, username=user, param="user")
    return await service.create_webhook(
        conn, box, actor=caller, owner_id=owner.id, spec=body, allow_private=allow_private
    )


@router.get("", summary="List webhooks (own; admins: everyone's, or one user's)")
async def list_webhooks(conn: Tx, caller: CurrentUser, user: UserQuery = None) -> list[Webhook]:
    return await service.list_webhooks(conn, user_id=await owner_scope(conn, actor=caller, owner=user))


@router.get("/{webhook_id}", summary="A webhook")
async def get_webhook(webhook_id: UUID, conn: Tx, caller: CurrentUser) -> Webhook:
    return await service.owned(conn, actor=caller, webhook_id=webhook_id)


@router.patch("/{webhook_id}", summary="Change a webhook's URL, alert types or enabled flag")
async def update_webhook(
    webhook_id: UUID,
    body: WebhookUpdate,
    conn: Tx,
    caller: CurrentUser,
    allow_private: PrivateUpstreamsAllowed,
) -> Webhook:
    return await service.update_webhook(
        conn, actor=caller, webhook_id=webhook_id, spec=body, allow_private=allow_private
    )


@router.delete("/{webhook_id}", status_code=204, response_class=Response, summary="Delete a webhook")
async def delete_webhook(webhook_id: UUID, conn: Tx, caller: CurrentUser) -> Response:
    await service.delete_webhook(conn, actor=caller, webhook_id=webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/test",
    status_code=202,
    dependencies=[WakeDispatcher],
    summary="Send a `webhook.test` delivery now; its result appears in the delivery log",
)
async def test_webhook(webhook_id: UUID, conn: Tx, caller: CurrentUser) -> WebhookDelivery:
    return await service.send_test(conn, actor=caller, webhook_id=webhook_id)


@router.get("/{webhook_id}/deliveries", summary="The webhook's delivery log, newest first")
async def list_deliveries(
    webhook_id: UUID, conn: Tx, caller: CurrentUser, page: PageNumber = 1, per_page: PerPage = 50
) -> list[WebhookDelivery]:
    return await service.list_deliveries(
        conn, actor=caller, webhook_id=webhook_id, page=page, per_page=per_page
    )
