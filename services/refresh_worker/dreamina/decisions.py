"""What to do for a Dreamina trigger, as pure functions of what the worker read and asked.

When a trigger needs no work (run after the account's lock is taken and its credentials re-read):

* `account.created` and `account.refresh_requested` (a person asked): always revalidated.
* Automatic triggers leave `disabled` and `invalid` accounts alone.
* `account.refresh_due`: a stored expiry later than the announced one means a login happened since.
* `account.credential_rejected`: a sessionid stored after the rejection replaced the rejected one.

Then, from the upstream's answer (`live`: None when there is no sessionid to ask about):

* live, and not about to expire (or the account cannot log in) → keep;
* live but expiring within `relogin_before` → log in, if the account can and no automatic retry
  is being held back after a failed login;
* dead (or no sessionid) → log in if the account can; a `cn` account stays in the pool (its expiry
  is shown, not enforced); any other becomes `invalid`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from services.refresh_worker.refresh_rules import outdated_reason
from shared.messages.contracts import (
    AccountCreated,
    AccountCredentialRejected,
    AccountRefreshDue,
    AccountRefreshRequested,
    Event,
)

TRIGGERS = (AccountCreated, AccountRefreshDue, AccountRefreshRequested, AccountCredentialRejected)


class Step(Enum):
    KEEP = "keep"
    LOGIN = "login"
    KEEP_DEAD = "keep_dead"  # cn: dead, and it can never log in; it stays in the pool
    INVALIDATE = "invalidate"


@dataclass(frozen=True, slots=True)
class DreaminaAccount:
    """A Dreamina credentials read (decrypted: never logged, never repr'd with its secrets)."""

    id: str
    status: str
    region: str
    can_login: bool
    expires_at: datetime | None
    email: str
    password: str
    token: str | None  # the sessionid with its region prefix, as jimeng-api expects it (and its proxy)
    proxy: str | None = None  # the egress proxy the browser login goes through (never directly)

    def __repr__(self) -> str:
        return f"DreaminaAccount(id={self.id!r}, status={self.status!r}, region={self.region!r})"

    @classmethod
    def from_read(cls, stored: dict[str, Any]) -> DreaminaAccount:
        expires = stored.get("credential_expires_at")
        secrets = stored.get("secrets") or {}
        return cls(
            id=stored["id"],
            status=stored["status"],
            region=stored.get("region") or "cn",
            can_login=bool(stored.get("can_login")),
            expires_at=datetime.fromisoformat(expires) if isinstance(expires, str) else expires,
            email=(stored.get("settings") or {}).get("email") or "",
            password=secrets.get("password") or "",
            token=stored.get("upstream_credential") or None,
            proxy=stored.get("proxy") or None,
        )


def is_manual(event: Event) -> bool:
    return isinstance(event, AccountRefreshRequested)


def skip_reason(
    event: Event, *, occurred_at: datetime, account: DreaminaAccount, renewed_at: datetime | None
) -> str | None:
    """Why this trigger needs no work now, or None to revalidate."""
    if isinstance(event, AccountCreated | AccountRefreshRequested):
        return None
    return outdated_reason(
        event,
        occurred_at=occurred_at,
        status=account.status,
        expires_at=account.expires_at,
        renewed_at=renewed_at,
    )


def next_step(
    *,
    live: bool | None,
    account: DreaminaAccount,
    now: datetime,
    relogin_before: timedelta,
    retry_held_back: bool,
) -> Step:
    if live:
        expiring = account.expires_at is not None and account.expires_at - now <= relogin_before
        if expiring and account.can_login and not retry_held_back:
            return Step.LOGIN
        return Step.KEEP
    if account.can_login:
        return Step.LOGIN
    return Step.KEEP_DEAD if account.region == "cn" else Step.INVALIDATE
