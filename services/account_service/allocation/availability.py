"""Whether an account can be allocated now, and if not, why: allocation's own tests, in its order.

`Allocator` keeps the active accounts of the index whose credential is usable (`Candidate.usable_at`),
and the pick script (`picker.py`, `local.py` while Redis is away) then skips those cooling, at their
concurrency cap, or weighing nothing. `Live` is what the picker itself reports of cooldowns and leases
in flight, so this says what the next pick would see.
"""

from __future__ import annotations

from services.account_service.allocation.index import Candidate
from services.account_service.allocation.picker import Live

STATUSES_OFF = ("pending", "disabled", "invalid", "exhausted")
# Why an account cannot serve, in the order they are tested (an account counts under the first).
REASONS = (*STATUSES_OFF, "credential_expired", "zero_weight", "cooling", "full")


def unavailable_reason(candidate: Candidate, *, status: str, live: Live, now: float) -> str | None:
    """The first reason (`REASONS`) this account cannot be allocated now, or None when it can."""
    if status != "active":
        return status
    if not candidate.usable_at(now):
        return "credential_expired"
    if candidate.weight <= 0:
        return "zero_weight"
    if live.cooling_until_ms is not None:
        return "cooling"
    if live.inflight >= candidate.max_concurrency:
        return "full"
    return None
