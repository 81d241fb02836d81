"""Usage: calls and tokens over time (charts drawn by the vendored uPlot from the page's data,
static/usage.js), for everything the caller may see, one key or one account; totals with latency
percentiles, and the top keys, accounts and models. The numbers are the management API's
(`/api/v1/usage`, usage/service.py), with its scoping: an admin sees the pool, anyone else their own
keys' calls and what their own accounts served."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from services.account_service.console import web
from services.account_service.console.deps import ConsoleSession
from services.account_service.console.i18n import _
from services.account_service.deps import Days, Tx
from services.account_service.usage import service
from services.account_service.usage.schemas import UsageSeries
from shared.errors import Unprocessable

router = APIRouter()

Since = Literal["24h", "7d", "30d", "90d"]
TOP = 10
_CHOICES = 200  # keys and accounts offered in the view's select


@router.get("/usage")
async def usage_page(
    request: Request,
    conn: Tx,
    days: Days,
    session: ConsoleSession,
    since: Since = "7d",
    view: Annotated[str, Query(max_length=80)] = "pool",
) -> Response:
    actor, now = session.actor, days.now()
    start = service.parse_since(since, now=now)
    key_id, account_id = _view(view)
    keys = await service.report(conn, actor=actor, by="key", since=start, now=now, limit=_CHOICES)
    accounts = await service.report(conn, actor=actor, by="account", since=start, now=now, limit=_CHOICES)
    models = await service.report(
        conn, actor=actor, by="model", since=start, now=now, limit=TOP, key_id=key_id, account_id=account_id
    )
    series = await service.series(
        conn,
        actor=actor,
        bucket="hour" if since in ("24h", "7d") else "day",
        since=start,
        days=days,
        key_id=key_id,
        account_id=account_id,
    )
    calls, tokens = _charts(series)
    return web.render(
        request,
        "usage.html",
        since=since,
        view=view,
        keys=keys,
        accounts=accounts,
        models=models,
        total=models.total,
        top=TOP,
        calls_chart=calls,
        tokens_chart=tokens,
    )


def _view(view: str) -> tuple[UUID | None, UUID | None]:
    """`pool`, `key:<id>` or `account:<id>`."""
    if view == "pool":
        return None, None
    kind, _sep, raw = view.partition(":")
    try:
        thing = UUID(raw)
    except ValueError:
        thing = None
    if thing is None or kind not in ("key", "account"):
        raise Unprocessable("view: the pool, a key or an account", param="view")
    return (thing, None) if kind == "key" else (None, thing)


def _charts(series: UsageSeries) -> tuple[dict, dict]:
    """uPlot's data for the two charts: x in seconds since the epoch, one array per line."""
    x = [int(p.start.timestamp()) for p in series.points]
    calls = {
        "x": x,
        "series": [
            {"label": _("Calls"), "color": "#1f4fd1", "values": [p.requests for p in series.points]},
            {"label": _("Failed"), "color": "#b42318", "values": [p.failures for p in series.points]},
        ],
    }
    tokens = {
        "x": x,
        "series": [
            {
                "label": _("Input tokens"),
                "color": "#0f6b3a",
                "values": [p.input_tokens for p in series.points],
            },
            {
                "label": _("Output tokens"),
                "color": "#8a4b00",
                "values": [p.output_tokens for p in series.points],
            },
        ],
    }
    return calls, tokens
