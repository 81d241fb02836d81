"""How much of its weight an account's quota leaves it (issue 14, "Quota-aware routing").

An account that told us what it has left (Kiro's usage limits, Dreamina's credits, a custom API's
rate-limit headers; see migration 0012) is drawn in proportion to that: weight × the fraction left,
never under `FLOOR` so an account low on quota still gets the odd call that shows its reset. One
projected to run out before its reset (at the pace between its last two readings) is spared: it is
drawn only when every other account that could serve the call is cooling or full
(`Allocator._tiers`), so it lasts for the callers that need it.

The index (index.py) works this out once per change of the account, not per call; a reading whose
reset has passed says nothing any more, and the plain weight applies again (`Candidate.pick_weight`).
"""

from __future__ import annotations

from datetime import datetime

FLOOR = 0.05
# Pick weights are whole numbers (weight × SCALE × factor): the pick script's arguments stay short
# integers, which Redis and redis-py handle faster than fractions (bench/quota.py).
SCALE = 100
# A change of the factor smaller than this is not worth telling every replica about.
STEP = 0.05

SOURCES = ("kiro_usage_limits", "dreamina_points", "ratelimit_headers")


def fraction_left(remaining: float | None, limit: float | None) -> float | None:
    """The fraction of the quota left, between 0 and 1; None when the account never said."""
    if remaining is None or not limit or limit <= 0:
        return None
    return min(1.0, max(0.0, remaining / limit))


def spared(runs_out_at: datetime | None, resets_at: datetime | None) -> bool:
    return runs_out_at is not None and resets_at is not None and runs_out_at < resets_at


def factor(remaining: float | None, limit: float | None) -> float:
    """What the account's weight is multiplied by: 1 for an account that never said."""
    left = fraction_left(remaining, limit)
    return 1.0 if left is None else max(left, FLOOR)


def pick_weight(weight: int, share: float) -> int:
    """The whole-number weight the pick script draws by; never 0 for an account of weight > 0."""
    return max(1, round(weight * SCALE * share)) if weight > 0 else 0


def worth_announcing(before: float, after: float) -> bool:
    """Whether a new reading moves the factor enough for the replicas to reload the account."""
    return abs(after - before) >= STEP or (before != after and min(before, after) < STEP * 2)
