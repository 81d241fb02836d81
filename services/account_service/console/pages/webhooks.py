"""Webhooks: add one (its signing secret shown once, in the page that answers the form), list them,
enable, disable, delete, send a test, and read a webhook's delivery log (fetched again every 2
seconds while a delivery is pending). The rules are the webhooks service's, the same the API applies."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from services.account_service.console import web
from services.account_service.console.deps import ConsoleSession
from services.account_service.console.i18n import _
from services.account_service.console.sessions import Session
from services.account_service.deps import Box, PrivateUpstreamsAllowed, Tx, WakeDispatcher
from services.account_service.webhooks import service
from services.account_service.webhooks.schemas import WebhookCreate, WebhookUpdate
from shared.errors import PoolGateError

router = APIRouter(prefix="/webhooks")

LOG_SIZE = 50


@router.get("")
async def webhooks_page(request: Request, conn: Tx, session: ConsoleSession) -> Response:
    return await _render(request, conn, session)


@router.post("")
async def create_webhook(
    request: Request,
    conn: Tx,
    session: ConsoleSession,
    box: Box,
    allow_private: PrivateUpstreamsAllowed,
    url: Annotated[str, Form()] = "",
    alert_types: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies form defaults
    operator_wide: Annotated[bool, Form()] = False,
) -> Response:
    """The answer is the webhooks page with the new secret in it: the one time it is shown."""
    form = {"url": url, "alert_types": alert_types, "operator_wide": operator_wide}
    errors: dict[str, str] = {}
    try:
        spec = WebhookCreate(
            url=url, alert_types=alert_types, operator_wide=operator_wide and session.actor.is_admin
        )
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors()}
        if "url" in fields:
            errors["url"] = _("Enter an http:// or https:// address of at most 2000 characters.")
        if "alert_types" in fields:
            errors["alert_types"] = _("Choose at least one alert.")
        return await _render(request, conn, session, status_code=422, errors=errors, form=form)
    try:
        created = await service.create_webhook(
            conn,
            box,
            actor=session.actor,
            owner_id=session.actor.user_id,
            spec=spec,
            allow_private=allow_private,
        )
    except PoolGateError as exc:
        if exc.param != "url":
            raise
        return await _render(request, conn, session, status_code=422, errors={"url": exc.message}, form=form)
    return await _render(request, conn, session, status_code=201, created=created)


@router.post("/{webhook_id}/enable")
async def enable_webhook(request: Request, webhook_id: UUID, conn: Tx, session: ConsoleSession) -> Response:
    await _set_enabled(conn, session, webhook_id, True)
    return web.redirect("/webhooks?notice=enabled", request=request)


@router.post("/{webhook_id}/disable")
async def disable_webhook(request: Request, webhook_id: UUID, conn: Tx, session: ConsoleSession) -> Response:
    await _set_enabled(conn, session, webhook_id, False)
    return web.redirect("/webhooks?notice=disabled", request=request)


@router.post("/{webhook_id}/delete")
async def delete_webhook(request: Request, webhook_id: UUID, conn: Tx, session: ConsoleSession) -> Response:
    await service.delete_webhook(conn, actor=session.actor, webhook_id=webhook_id)
    return web.redirect("/webhooks?notice=deleted", request=request)


@router.post("/{webhook_id}/test", dependencies=[WakeDispatcher])
async def send_test(request: Request, webhook_id: UUID, conn: Tx, session: ConsoleSession) -> Response:
    await service.send_test(conn, actor=session.actor, webhook_id=webhook_id)
    return web.redirect(f"/webhooks/{webhook_id}?notice=test_sent", request=request)


@router.get("/{webhook_id}")
async def webhook_page(request: Request, webhook_id: UUID, conn: Tx, session: ConsoleSession) -> Response:
    return web.render(request, "webhook.html", **await _detail(conn, session, webhook_id))


@router.get("/{webhook_id}/log")
async def webhook_log(request: Request, webhook_id: UUID, conn: Tx, session: ConsoleSession) -> Response:
    """The delivery log alone, fetched again while a delivery in it is pending."""
    return web.render(request, "_webhook_log.html", **await _detail(conn, session, webhook_id))


async def _detail(conn: asyncpg.Connection, session: Session, webhook_id: UUID) -> dict[str, Any]:
    webhook = await service.owned(conn, actor=session.actor, webhook_id=webhook_id)
    deliveries = await service.list_deliveries(
        conn, actor=session.actor, webhook_id=webhook_id, per_page=LOG_SIZE
    )
    return {"webhook": webhook, "deliveries": deliveries}


async def _set_enabled(conn: asyncpg.Connection, session: Session, webhook_id: UUID, enabled: bool) -> None:
    await service.update_webhook(
        conn,
        actor=session.actor,
        webhook_id=webhook_id,
        spec=WebhookUpdate(enabled=enabled),
        allow_private=False,
    )


async def _render(
    request: Request,
    conn: asyncpg.Connection,
    session: Session,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    **context: object,
) -> Response:
    webhooks = await service.list_webhooks(conn, user_id=session.actor.user_id)
    return web.render(
        request,
        "webhooks.html",
        status_code=status_code,
        webhooks=webhooks,
        errors=errors or {},
        **{"form": {}, "created": None} | context,
    )
