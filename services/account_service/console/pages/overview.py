"""The overview: the caller's pool at a glance (an admin's: everyone's)."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.account_service.accounts import repository as accounts
from services.account_service.accounts.live import cooling_by_kind
from services.account_service.accounts.service import present
from services.account_service.console import web
from services.account_service.console.deps import ConsoleSession
from services.account_service.deps import Box, Days, LivePicker, Tx
from services.account_service.users.service import owner_scope

router = APIRouter()

KINDS = ("kiro", "custom_api", "dreamina")
# `cooling` is not stored: it counts the active accounts that are cooling down now (live state).
STATUSES = ("active", "cooling", "pending", "disabled", "invalid", "exhausted")


@router.get("/")
async def overview(
    request: Request, conn: Tx, box: Box, days: Days, picker: LivePicker, session: ConsoleSession
) -> Response:
    owner_id = await owner_scope(conn, actor=session.actor, owner=None)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    calls = failures = 0
    for row in await accounts.summary(conn, owner_id=owner_id, day=days.today()):
        counts[row["kind"]][row["status"]] = row["accounts"]
        calls += row["calls"]
        failures += row["failures"]
    for kind, cooling in (await cooling_by_kind(conn, picker, owner_id=owner_id)).items():
        counts[kind]["cooling"] = cooling
    attention = await present(
        conn, box, await accounts.needing_attention(conn, owner_id=owner_id, limit=50), today=days.today()
    )
    return web.render(
        request,
        "overview.html",
        kinds=KINDS,
        statuses=STATUSES,
        counts={kind: counts[kind] for kind in KINDS},
        calls=calls,
        failures=failures,
        attention=attention,
    )
