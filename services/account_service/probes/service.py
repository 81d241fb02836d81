"""Probes: asking for one, scheduling the due ones, and what a result does.

A healthy probe brings back an account that was exhausted (it becomes active) or cooling (its
cooldown ends and what recent calls said of it is forgotten), and says so in the account's status
reason and an `account.status_changed` event. A failed probe changes nothing: it is stored and shown;
real traffic decides whether the account cools down, but a failed probe after a healthy one (or as
the first) is announced, `account.probe_failed`, once per turn: the account's row is locked while
the previous result is read, so two reports never both see the turn. Disabled, invalid and pending
accounts are never brought back by a probe."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from services.account_service.accounts import repository as accounts
from services.account_service.accounts.schemas import Account
from services.account_service.accounts.service import change_status, get_account
from services.account_service.allocation.health import Health
from services.account_service.allocation.picker import Picks
from services.account_service.outbox.writer import record
from services.account_service.probes import repository
from services.account_service.probes.schemas import ProbeList, ProbeOut, ProbeReport
from services.account_service.users.schemas import Actor
from shared.errors import NotFound
from shared.logging import get_logger
from shared.messages.contracts import AccountProbeFailed, AccountProbeRequested
from shared.outages import is_unavailable

log = get_logger(__name__)

HEALTHY_REASON = "probe: healthy"


async def request_probe(conn: asyncpg.Connection, *, actor: Actor, account_id: UUID) -> Account:
    """Queue one probe of the account now (whether or not it is probed on a schedule)."""
    account = await get_account(conn, actor=actor, account_id=account_id)
    await record(
        conn,
        AccountProbeRequested(account_id=str(account.id), kind=account.kind, requested_by=actor.username),
    )
    return account


async def schedule_due(conn: asyncpg.Connection, *, now: datetime, limit: int) -> int:
    """Announce a probe for each account whose probe is due; returns how many."""
    due = await repository.claim_due(conn, now=now, limit=limit)
    for row in due:
        await record(conn, AccountProbeRequested(account_id=str(row["id"]), kind=row["kind"]))
    return len(due)


async def recent(conn: asyncpg.Connection, *, actor: Actor, account_id: UUID, limit: int) -> ProbeList:
    account = await get_account(conn, actor=actor, account_id=account_id)
    return ProbeList(
        probe_enabled=account.probe_enabled,
        probe_interval_s=account.probe_interval_s,
        items=await repository.recent(conn, account_id=account.id, limit=limit),
    )


async def _is_cooling(picker: Picks, account_id: str) -> bool:
    live = await picker.live([account_id])  # the fallback picker answers while Redis is away
    return live[account_id].cooling_until_ms is not None


async def _forget_health(health: Health, account_id: str) -> None:
    try:
        await health.forget(account_id)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        log.warning("probe.health_not_reset", account_id=account_id, error=exc.__class__.__name__)


async def _bring_back(conn: asyncpg.Connection, account: Account, *, picker: Picks, health: Health) -> bool:
    """After a healthy probe: an exhausted or cooling account usable again; True if it was either."""
    account_id = str(account.id)
    if account.status == "exhausted":
        await change_status(conn, account=account, status="active", reason=f"{HEALTHY_REASON}, quota back")
    elif account.status == "active" and await _is_cooling(picker, account_id):
        await picker.end_cooldown(account_id)
        await _forget_health(health, account_id)
        reason = f"{HEALTHY_REASON}, cooldown ended"
        await change_status(conn, account=account, status="active", reason=reason)
    else:
        return False
    log.info("probe.reenabled", account_id=account_id, was=account.status)
    return True


async def record_result(
    conn: asyncpg.Connection,
    *,
    picker: Picks,
    health: Health,
    account_id: UUID,
    report: ProbeReport,
    keep: int,
) -> ProbeOut:
    account = await accounts.get_for_update(conn, account_id=account_id)
    if account is None:
        raise NotFound("no such account", param="account_id")
    reenabled = report.ok and await _bring_back(conn, account, picker=picker, health=health)
    if not report.ok and await repository.last_ok(conn, account_id=account.id) is not False:
        await record(
            conn,
            AccountProbeFailed(
                account_id=str(account.id),
                kind=account.kind,
                method=report.method,
                status=report.status,
                detail=report.detail,
            ),
        )
    return await repository.add(
        conn,
        account_id=account.id,
        at=report.at,
        ok=report.ok,
        latency_ms=report.latency_ms,
        status=report.status,
        method=report.method,
        detail=report.detail,
        reenabled=reenabled,
        keep=keep,
    )
