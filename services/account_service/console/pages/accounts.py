"""The account sections (`/kiro`, `/custom`, `/dreamina`, and `/accounts` with every kind): one list
for every kind (paginated, sortable, filterable by status, region and kind, and by owner for admins),
each account's actions and the bulk actions over selected rows. Each kind's page adds its own columns
and forms in its template (`templates/accounts/<kind>.html`) and its forms' handlers in its own
module, which re-render the section through `section()` when a form comes back with errors.

Every action calls the service function its `/api/v1/accounts` endpoint calls, so ownership (another
user's account is as missing as an unknown one), status rules and events are the API's."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

from services.account_service.accounts import repository, service
from services.account_service.accounts.rules import ALL_REGIONS, DREAMINA_REGIONS, KIRO_REGIONS
from services.account_service.accounts.schemas import Kind, Status
from services.account_service.console import web
from services.account_service.console.deps import ConsoleSession
from services.account_service.console.i18n import _
from services.account_service.console.pages.auth import local_target
from services.account_service.deps import MAX_PAGE, Box, Days, LiveHealth, LivePicker, Tx
from services.account_service.usage.service import sparklines
from services.account_service.users.schemas import Actor
from shared.errors import Unprocessable

router = APIRouter()

PAGES: dict[str, str] = {"kiro": "/kiro", "custom_api": "/custom", "dreamina": "/dreamina"}
REGIONS: dict[str, tuple[str, ...]] = {"kiro": KIRO_REGIONS, "custom_api": (), "dreamina": DREAMINA_REGIONS}
PER_PAGE = (25, 50, 100, 200)
Action = Literal["enable", "disable", "restore", "refresh", "delete"]
BulkAction = Literal["enable", "disable", "delete"]


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a list shows: the page's query string, parsed once (FastAPI has already checked types)."""

    page: int = 1
    per_page: int = 50
    sort: str = repository.DEFAULT_SORT
    status: str | None = None
    region: str | None = None
    owner: str | None = None
    kind: str | None = None  # the page of every kind only; a kind's own page is its kind

    def link(self, **change: Any) -> str:
        """This list's URL query with some parameters changed (a sort header, a page link)."""
        params = asdict(self) | change
        if change.keys() & {"sort", "status", "region", "owner", "kind"}:
            params["page"] = 1
        defaults = asdict(ListQuery())
        return "?" + urlencode({k: v for k, v in params.items() if v is not None and v != defaults[k]})


def list_query(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    sort: Annotated[str, Query(max_length=20)] = repository.DEFAULT_SORT,
    status: Status | Literal[""] | None = None,
    region: Annotated[str | None, Query(max_length=20)] = None,
    owner: Annotated[str | None, Query(max_length=64)] = None,
    kind: Kind | Literal[""] | None = None,
) -> ListQuery:
    return ListQuery(page, per_page, sort, status or None, region or None, owner or None, kind or None)


async def section(
    request: Request,
    conn,
    box,
    days,
    session,
    kind: Kind | None,
    *,
    query: ListQuery | None = None,
    status_code: int = 200,
    **forms: dict[str, Any],
) -> Response:
    """A kind's page (None: every kind's accounts, `/accounts`): its list as `query` asks, and its
    forms (`forms[name]` = {"errors", "values", "open"} of a form that came back with errors)."""
    query = query or ListQuery()
    accounts, total = await service.list_accounts(
        conn,
        actor=session.actor,
        owner=query.owner,
        kind=kind or query.kind,
        status=query.status,
        region=query.region,
        sort=query.sort,
        page=query.page,
        per_page=query.per_page,
    )
    return web.render(
        request,
        f"accounts/{kind or 'all'}.html",
        status_code=status_code,
        kind=kind,
        kinds=tuple(PAGES),
        items=await service.present(conn, box, accounts, today=days.today()),
        # Calls per hour of the last 24 hours, of the accounts on the page that had any.
        sparks=await sparklines(conn, account_ids=[a.id for a in accounts], now=days.now()),
        total=total,
        q=query,
        regions=REGIONS[kind] if kind else ALL_REGIONS,
        statuses=("active", "pending", "disabled", "invalid", "exhausted"),
        per_pages=PER_PAGE,
        list_url=PAGES.get(kind, "/accounts"),
        here=PAGES.get(kind, "/accounts") + query.link(),
        now=days.now(),  # one "now" for the page's expiries and "3 minutes ago"s
        forms=forms,
    )


def _section_route(kind: Kind | None):
    async def page(
        request: Request,
        conn: Tx,
        box: Box,
        days: Days,
        session: ConsoleSession,
        query: Annotated[ListQuery, Depends(list_query)],
    ) -> Response:
        return await section(request, conn, box, days, session, kind, query=query)

    return page


for _kind, _path in [*PAGES.items(), (None, "/accounts")]:
    router.add_api_route(_path, _section_route(_kind), methods=["GET"])  # type: ignore[arg-type]


async def apply(action: Action, conn, box, *, actor: Actor, account_id: UUID, picker, health) -> None:
    """One account action, through the service function its API endpoint calls."""
    match action:
        case "enable" | "disable":
            enabled = action == "enable"
            await service.set_enabled(conn, box, actor=actor, account_id=account_id, enabled=enabled)
        case "restore":
            await service.restore_account(
                conn, box, picker=picker, health=health, actor=actor, account_id=account_id
            )
        case "refresh":
            await service.request_refresh(conn, actor=actor, account_id=account_id)
        case "delete":
            await service.delete_account(conn, actor=actor, account_id=account_id)


_DONE = {
    "enable": "enabled",
    "disable": "disabled",
    "restore": "restored",
    "refresh": "refresh_requested",
    "delete": "deleted",
}


@router.post("/accounts/{account_id}/{action}")
async def account_action(
    request: Request,
    account_id: UUID,
    action: Action,
    conn: Tx,
    box: Box,
    session: ConsoleSession,
    picker: LivePicker,
    health: LiveHealth,
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    await apply(action, conn, box, actor=session.actor, account_id=account_id, picker=picker, health=health)
    return web.redirect(with_notice(local_target(next), _DONE[action]), request=request)


@router.post("/accounts/bulk")
async def bulk_action(
    request: Request,
    conn: Tx,
    box: Box,
    session: ConsoleSession,
    picker: LivePicker,
    health: LiveHealth,
    action: Annotated[BulkAction, Form()],
    ids: Annotated[list[UUID], Form(max_length=1000)] = [],  # noqa: B006 (FastAPI copies defaults)
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """The selected rows, all or nothing: one refused account (not yours, gone) rolls back the rest."""
    if not ids:
        raise Unprocessable(_("Select at least one account first."), param="ids")
    for account_id in ids:
        await apply(
            action, conn, box, actor=session.actor, account_id=account_id, picker=picker, health=health
        )
    return web.redirect(with_notice(local_target(next), _DONE[action]), request=request)


def with_notice(url: str, notice: str) -> str:
    path, _sep, query = url.partition("?")
    return f"{path}?{query}&notice={notice}" if query else f"{path}?notice={notice}"
