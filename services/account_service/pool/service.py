"""The pool's health: for each kind, and each model of each kind, how many accounts allocation could
pick now against how many there are, and why the others cannot serve (`allocation/availability.py`)."""

from __future__ import annotations

import time
from collections import Counter
from uuid import UUID

import asyncpg

from services.account_service.accounts import repository
from services.account_service.allocation.availability import unavailable_reason
from services.account_service.allocation.catalog import ANY_MODEL, offered
from services.account_service.allocation.index import Candidate, candidate_from
from services.account_service.allocation.picker import Live, Picks
from services.account_service.pool.schemas import KindHealth, ModelHealth, PoolHealth, Unavailable
from services.account_service.users.schemas import Actor
from services.account_service.users.service import get_user_by_id
from shared.crypto import SecretBox
from shared.errors import NotFound


async def pool_health(
    conn: asyncpg.Connection,
    box: SecretBox,
    picker: Picks,
    *,
    actor: Actor,
    user_id: UUID | None,
    public_pool: bool,
) -> PoolHealth:
    """A user's pool (the accounts their keys are allocated from), or the whole pool for an admin
    who names nobody. Another user's id is not found, as everywhere for non-admins."""
    if user_id is not None:
        if not actor.may_see(user_id):
            raise NotFound("no such user", param="user_id")
        await get_user_by_id(conn, user_id=user_id)
        owner: UUID | None = user_id
    else:
        owner = None if actor.is_admin else actor.user_id
    public = public_pool and owner is not None
    accounts = await repository.pool_accounts(conn, owner_id=owner, public=public)
    candidates = [(candidate_from(a, box), a.status) for a in accounts]
    live = await picker.live([c.id for c, status in candidates if status == "active"])
    now = time.time()
    reasons = {
        c.id: unavailable_reason(c, status=status, live=live.get(c.id, Live()), now=now)
        for c, status in candidates
    }
    by_kind: dict[str, list[Candidate]] = {}
    for candidate, _ in candidates:
        by_kind.setdefault(candidate.kind, []).append(candidate)
    kinds = [KindHealth(kind=kind, **_count(group, reasons)) for kind, group in sorted(by_kind.items())]
    models = []
    for capability, model in offered(c for c, _ in candidates):
        asked = None if model == ANY_MODEL else model
        serving = [c for c, _ in candidates if c.serves(capability=capability, model=asked, formats=None)]
        for kind in sorted({c.kind for c in serving}):
            group = [c for c in serving if c.kind == kind]
            models.append(
                ModelHealth(kind=kind, capability=capability, model=model, **_count(group, reasons))
            )
    return PoolHealth(user_id=owner, public_pool=public, kinds=kinds, models=models)


def _count(group: list[Candidate], reasons: dict[str, str | None]) -> dict:
    why = Counter(reasons[c.id] for c in group)
    available = why.pop(None, 0)
    return {"total": len(group), "available": available, "unavailable": Unavailable(**why)}
