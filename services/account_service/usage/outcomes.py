"""What an upstream attempt's outcome means for its account.

* success / failures feed the live health (success rate; consecutive server errors back off).
* 429 cools the account for the upstream's Retry-After (default 30 s, at most an hour).
* A refused credential is announced with `account.credential_rejected` for the worker. Accounts
  that can renew it themselves (Kiro, and Dreamina accounts that can log in) are cooled meanwhile,
  and so are `cn` Dreamina accounts, which stay in the pool whatever their sessionid's state (they
  can never log in; the worker records what it finds); the others become `invalid`, since only a
  person can give them a new credential.
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
NEUTRAL = frozenset({"client_error", "cancelled", "proxy_error"})


def rate_limit_cooldown(retry_after: float | None) -> float:
    return min(retry_after or DEFAULT_COOLDOWN_S, MAX_COOLDOWN_S)


def renews_itself(account: Account) -> bool:
    if account.kind == "kiro":
        return True
    return account.kind == "dreamina" and bool(account.settings.get("can_login"))


def stays_when_rejected(account: Account) -> bool:
    return renews_itself(account) or (account.kind == "dreamina" and account.region == "cn")


def exhausted_until(
    account: Account, *, retry_after: float | None, now: datetime, days: DayBoundary
) -> datetime:
    if retry_after:
        return now + timedelta(seconds=retry_after)
    if account.kind == "kiro":
        first_of_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return (first_of_month + timedelta(days=32)).replace(day=1)
    return days.next_start(now)
