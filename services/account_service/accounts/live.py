"""The pool as it is now, for people to watch: each account as stored beside what the shared live
state holds of it (calls in flight, cooldown, what recent calls said), and how many active accounts
are cooling. Read only: nothing here changes what allocation sees."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import asyncpg

from services.account_service.accounts import repository
from services.account_service.accounts.schemas import AccountOut
from services.account_service.accounts.service import list_accounts, present
from services.account_service.allocation.health import Health, Recent
from services.account_service.allocation.picker import Live, Picks
from services.account_service.users.schemas import Actor
from shared.crypto import SecretBox
from shared.outages import is_unavailable


@dataclass(frozen=True, slots=True)
class LiveAccount:
    account: AccountOut
    live: Live
    recent: Recent | None  # None while Redis is unreachable


@dataclass(frozen=True, slots=True)
class LivePage:
    accounts: list[LiveAccount]
    total: int
    shared: bool  # False while Redis is unreachable: in-flight counts and cooldowns are this replica's


async def live_accounts(
    conn: asyncpg.Connection,
    box: SecretBox,
    picker: Picks,
    health: Health,
    *,
    actor: Actor,
    today: date,
    owner: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> LivePage:
    """One page of the accounts the actor may see (`list_accounts`' filters), each with its live state."""
    accounts, total = await list_accounts(
        conn, actor=actor, owner=owner, kind=kind, status=status, page=page, per_page=per_page
    )
    ids = [str(a.id) for a in accounts]
    live = await picker.live(ids)  # the fallback picker answers from this replica while Redis is away
    try:
        recent = await health.recent(ids)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        recent = None
    shown = await present(conn, box, accounts, today=today)
    return LivePage(
        accounts=[
            LiveAccount(a, live[str(a.id)], None if recent is None else recent[str(a.id)]) for a in shown
        ],
        total=total,
        shared=recent is not None,
    )


async def cooling_by_kind(conn: asyncpg.Connection, picker: Picks, *, owner_id: UUID | None) -> Counter[str]:
    """How many active accounts (of one owner, or everyone's) are cooling now, per kind."""
    kinds = await repository.active_kinds(conn, owner_id=owner_id)
    live = await picker.live([str(account_id) for account_id in kinds])
    return Counter(kinds[UUID(i)] for i, state in live.items() if state.cooling_until_ms is not None)
