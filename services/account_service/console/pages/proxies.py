"""Egress proxies: add one, list them with their health, latency and exit country, test one (through
the proxy to the echo URL), delete one no account uses, and put accounts on a proxy (or on none), by
hand or automatically. The rules are the proxies service's, the same the API applies."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from services.account_service.accounts import repository as accounts
from services.account_service.console import web
from services.account_service.console.deps import ConsoleSession
from services.account_service.console.i18n import _
from services.account_service.console.sessions import Session
from services.account_service.deps import Box, PrivateUpstreamsAllowed, Tx
from services.account_service.proxies import service
from services.account_service.proxies.schemas import ProxyCreate
from shared.errors import PoolGateError

router = APIRouter(prefix="/proxies")

ACCOUNTS_SHOWN = 500  # the accounts the assign form lists (the API assigns any number)


def _field_errors() -> dict[str, str]:
    return {
        "name": _("Enter a name of at most 100 characters."),
        "scheme": _("Choose HTTP, HTTPS or SOCKS5."),
        "host": _("Enter a host name or IP address, without scheme or path."),
        "port": _("Enter a port from 1 to 65535."),
        "username": _("At most 255 characters."),
        "password": _("At most 255 characters."),
        "region": _("Use lower-case letters, digits and '-' (for example us or us-east-1)."),
    }


@router.get("")
async def proxies_page(request: Request, conn: Tx, session: ConsoleSession) -> Response:
    return await _render(request, conn, session)


@router.post("")
async def create_proxy(
    request: Request,
    conn: Tx,
    session: ConsoleSession,
    box: Box,
    allow_private: PrivateUpstreamsAllowed,
    name: Annotated[str, Form()] = "",
    scheme: Annotated[str, Form()] = "http",
    host: Annotated[str, Form()] = "",
    port: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "name": name,
        "scheme": scheme,
        "host": host,
        "port": port,
        "username": username,
        "region": region,
    }
    try:
        spec = ProxyCreate(
            name=name,
            scheme=scheme,
            host=host,
            port=port,
            username=username or None,
            password=password or None,
            region=region or None,
        )
    except ValidationError as exc:
        messages = _field_errors()
        errors = {str(e["loc"][0]): messages.get(str(e["loc"][0]), e["msg"]) for e in exc.errors()}
        return await _render(request, conn, session, status_code=422, errors=errors, form=form)
    try:
        await service.create_proxy(
            conn, box, owner_id=session.actor.user_id, spec=spec, allow_private=allow_private
        )
    except PoolGateError as exc:
        if exc.param not in ("name", "host"):
            raise
        return await _render(
            request, conn, session, status_code=422, errors={exc.param: exc.message}, form=form
        )
    return web.redirect("/proxies?notice=created", request=request)


@router.post("/assign")
async def assign(
    request: Request,
    conn: Tx,
    session: ConsoleSession,
    proxy: Annotated[str, Form()] = "",
    ids: Annotated[list[UUID], Form()] = [],  # noqa: B006 - FastAPI copies form defaults
) -> Response:
    """Put the chosen accounts on the chosen proxy, or on none (`proxy` empty: direct)."""
    if not ids:
        return await _render(
            request, conn, session, status_code=422, errors={"ids": _("Choose at least one account.")}
        )
    if proxy:
        await service.assign(conn, actor=session.actor, proxy_id=UUID(proxy), account_ids=ids)
    else:
        await service.unassign(conn, actor=session.actor, account_ids=ids)
    return web.redirect("/proxies?notice=updated", request=request)


@router.post("/auto-assign")
async def auto_assign(
    request: Request,
    conn: Tx,
    session: ConsoleSession,
    max_per_proxy: Annotated[str, Form()] = "",
    same_region_only: Annotated[bool, Form()] = False,
) -> Response:
    try:
        limit = int(max_per_proxy)
        if not 1 <= limit <= 10000:
            raise ValueError
    except ValueError:
        errors = {"max_per_proxy": _("Enter a number from 1 to 10000.")}
        return await _render(request, conn, session, status_code=422, errors=errors)
    await service.auto_assign(
        conn, owner_id=session.actor.user_id, max_per_proxy=limit, same_region_only=same_region_only
    )
    return web.redirect("/proxies?notice=updated", request=request)


@router.post("/{proxy_id}/test")
async def test_proxy(
    request: Request, proxy_id: UUID, conn: Tx, box: Box, session: ConsoleSession
) -> Response:
    settings = request.app.state.settings
    await service.test_proxy(
        conn,
        box,
        actor=session.actor,
        proxy_id=proxy_id,
        echo_url=settings.proxy_echo_url,
        timeout_s=settings.proxy_test_timeout_s,
    )
    return web.redirect("/proxies?notice=tested", request=request)


@router.post("/{proxy_id}/delete")
async def delete_proxy(request: Request, proxy_id: UUID, conn: Tx, session: ConsoleSession) -> Response:
    await service.delete_proxy(conn, actor=session.actor, proxy_id=proxy_id)
    return web.redirect("/proxies?notice=deleted", request=request)


async def _render(
    request: Request,
    conn: asyncpg.Connection,
    session: Session,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    **context: object,
) -> Response:
    proxies = await service.list_proxies(conn, user_id=session.actor.user_id)
    own, _total = await accounts.search(
        conn, owner_id=session.actor.user_id, sort="name", limit=ACCOUNTS_SHOWN, offset=0
    )
    return web.render(
        request,
        "proxies.html",
        status_code=status_code,
        proxies=proxies,
        proxy_names={p.id: p.name for p in proxies},
        proxy_options=[(str(p.id), p.name) for p in proxies],
        accounts=own,
        errors=errors or {},
        **{"form": {}} | context,
    )
