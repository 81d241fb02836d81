"""What an upstream attempt's outcome means for its account.

* success / failures feed the live health (success rate; consecutive server errors back off).
* 429 cools the account for the upstream's Retry-After (default 30 s, at most an hour).
* A refused credential: accounts the worker looks after (Kiro: a refresh; Dreamina: jimeng-api is
  asked whether the sessionid lives, only an account that can log in logs in, a `cn` one stays
  usable) are announced with `account.credential_rejected` for the worker and cooled meanwhile; the
  others become `invalid`, since only a person can give them a new credential.
* Its egress proxy failed (`proxy_error`): the proxy is marked unhealthy with the error, and the account
  cools for 30 s (the call went to another account; it never connects directly).
* Quota or credits gone: `exhausted` until the reset time (the upstream's Retry-After if it gave
  one; Kiro's monthly quota resets on the first of the next month (UTC); otherwise when the next
  configured day begins: `POOLGATE_TIMEZONE`, `POOLGATE_DAY_STARTS_AT`, see shared/day_boundary.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.account_service.accounts.schemas import Account
from shared.day_boundary import DayBoundary

DEFAULT_COOLDOWN_S = 30.0
MAX_COOLDOWN_S = 3600.0
CREDENTIAL_COOLDOWN_S = 30.0

SERVER_ERRORS = frozenset({"upstream_error", "timeout", "connect_error"})
# The caller's doing, or the proxy's own failure: not the account's.
# An egress proxy's failure is the proxy's: it cools the account (`PROXY_COOLDOWN_S`) and marks the
# proxy unhealthy, but does not count against the account's health.
NEUTRAL = frozenset({"client_error", "cancelled", "proxy_error", "internal_error"})
PROXY_COOLDOWN_S = 30.0


def rate_limit_cooldown(retry_after: float | None) -> float:
    return min(retry_after or DEFAULT_COOLDOWN_S, MAX_COOLDOWN_S)


def worker_decides(account: Account) -> bool:
    return account.kind in ("kiro", "dreamina")


def cause(*, status_code: int | None, upstream_code: int | None) -> str:
    """How the upstream said it: its own code when it has one (jimeng-api answers HTTP 200), else HTTP."""
    return f"upstream code {upstream_code}" if upstream_code is not None else f"HTTP {status_code}"


def exhausted_until(
    account: Account, *, retry_after: float | None, now: datetime, days: DayBoundary
) -> datetime:
    if retry_after:
        return now + timedelta(seconds=retry_after)
    if account.kind == "kiro":
        first_of_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return (first_of_month + timedelta(days=32)).replace(day=1)
    return days.next_start(now)
