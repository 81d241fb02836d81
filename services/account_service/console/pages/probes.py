"""An account's probes (every kind): turn scheduled probes on or off and set their interval, probe
now, and read the latest results. The settings go through `update_account`, as
`PATCH /api/v1/accounts/{id}` does, so its rules and messages are the API's; "Probe now" queues
one as `POST /api/v1/accounts/{id}/probe` does (the result shows here once the worker reports it)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from services.account_service.accounts import service
from services.account_service.accounts.schemas import AccountUpdate
from services.account_service.accounts.updating import update_account
from services.account_service.console import forms, web
from services.account_service.console.deps import ConsoleSession
from services.account_service.console.i18n import _
from services.account_service.console.pages.accounts import with_notice
from services.account_service.console.pages.auth import local_target
from services.account_service.deps import Box, Days, Tx
from services.account_service.probes import service as probes
from shared.errors import Unprocessable

router = APIRouter(prefix="/probes")

FIELDS = ("probe_enabled", "probe_interval_s")
SHOWN = 20


async def _page(
    request: Request,
    conn: Tx,
    box: Box,
    days: Days,
    session: ConsoleSession,
    account_id: UUID,
    *,
    next_url: str,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    account = await service.get_account(conn, actor=session.actor, account_id=account_id)
    shown = (await service.present(conn, box, [account], today=days.today()))[0]
    recent = await probes.recent(conn, actor=session.actor, account_id=account_id, limit=SHOWN)
    return web.render(
        request,
        "probes.html",
        status_code=status_code,
        a=shown,
        results=recent.items,
        errors=errors or {},
        values=values or {},
        next_url=next_url,
        now=days.now(),
    )


@router.get("/{account_id}")
async def probes_page(
    request: Request,
    account_id: UUID,
    conn: Tx,
    box: Box,
    days: Days,
    session: ConsoleSession,
    next: str = "/accounts",
) -> Response:
    return await _page(request, conn, box, days, session, account_id, next_url=local_target(next))


@router.post("/{account_id}")
async def save_settings(
    request: Request,
    account_id: UUID,
    conn: Tx,
    box: Box,
    days: Days,
    session: ConsoleSession,
    probe_interval_s: Annotated[str, Form(max_length=20)] = "",
    probe_enabled: Annotated[bool, Form()] = False,
    next: Annotated[str, Form(max_length=2000)] = "/accounts",
) -> Response:
    target = local_target(next)
    change: dict[str, object] = {"probe_enabled": probe_enabled}
    async with forms.attempt(conn, FIELDS) as tried:
        interval = probe_interval_s.strip()
        if not interval.isdigit():
            raise Unprocessable(_("Enter a whole number of seconds, at least 60."), param="probe_interval_s")
        change["probe_interval_s"] = int(interval)
        await update_account(
            conn, box, actor=session.actor, account_id=account_id, update=AccountUpdate(**change)
        )
    if tried.errors:
        values = {"probe_interval_s": probe_interval_s, "probe_enabled": "true" if probe_enabled else ""}
        return await _page(
            request,
            conn,
            box,
            days,
            session,
            account_id,
            next_url=target,
            status_code=422,
            errors=tried.errors,
            values=values,
        )
    return web.redirect(
        with_notice(f"/probes/{account_id}?next={_quoted(target)}", "updated"), request=request
    )


@router.post("/{account_id}/run")
async def probe_now(
    request: Request,
    account_id: UUID,
    conn: Tx,
    session: ConsoleSession,
    next: Annotated[str, Form(max_length=2000)] = "/accounts",
) -> Response:
    await probes.request_probe(conn, actor=session.actor, account_id=account_id)
    target = local_target(next)
    return web.redirect(
        with_notice(f"/probes/{account_id}?next={_quoted(target)}", "probe_requested"), request=request
    )


def _quoted(url: str) -> str:
    return quote(url, safe="")
