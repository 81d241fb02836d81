"""The pool live (admins): every user's accounts with their calls in flight, cooldowns and what recent
calls said of them. The table is a fragment the page fetches again every few seconds (htmx)."""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from services.account_service.accounts.live import live_accounts
from services.account_service.accounts.schemas import Kind, Status
from services.account_service.console import web
from services.account_service.console.deps import AdminSession
from services.account_service.console.i18n import _
from services.account_service.deps import Box, Days, LiveHealth, LivePicker, PageNumber, Tx
from shared.errors import NotFound

router = APIRouter(prefix="/admin/pool")

PER_PAGE = 50
KINDS = get_args(Kind)
STATUSES = get_args(Status)


async def pool_view(
    conn: Tx,
    box: Box,
    days: Days,
    picker: LivePicker,
    health: LiveHealth,
    session: AdminSession,
    kind: str = "",
    status: str = "active",
    owner: str = "",
    page: PageNumber = 1,
) -> dict[str, Any]:
    """What the page and its fragment show: one page of accounts (filtered by kind, status and owner)
    with their live state, or the errors of the filters."""
    errors: dict[str, str] = {}
    if kind and kind not in KINDS:
        errors["kind"] = _("Unknown kind.")
    if status and status not in STATUSES:
        errors["status"] = _("Unknown status.")
    live = None
    if not errors:
        try:
            live = await live_accounts(
                conn,
                box,
                picker,
                health,
                actor=session.actor,
                today=days.today(),
                owner=owner.strip() or None,
                kind=kind or None,
                status=status or None,
                page=page,
                per_page=PER_PAGE,
            )
        except NotFound as exc:
            if exc.param not in ("owner", "username"):
                raise
            errors["owner"] = _("No user has this name.")
    return {
        "kinds": KINDS,
        "statuses": STATUSES,
        "filters": {"kind": kind, "status": status, "owner": owner},
        "errors": errors,
        "live": live,
        "page": page,
        "per_page": PER_PAGE,
    }


PoolView = Annotated[dict[str, Any], Depends(pool_view)]


@router.get("")
async def pool(request: Request, view: PoolView) -> Response:
    return web.render(request, "pool.html", status_code=422 if view["errors"] else 200, **view)


@router.get("/live")
async def pool_rows(request: Request, view: PoolView) -> Response:
    """The table alone, for the page to fetch again every few seconds."""
    return web.render(request, "_pool_rows.html", status_code=422 if view["errors"] else 200, **view)
