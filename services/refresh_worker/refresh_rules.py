"""When a refresh trigger is already answered: the skip rules that keep replicas from refresh storms.

They run after the account's lock is taken and its credentials re-read, so they see what any
refresh that finished meanwhile wrote.

* `account.created` / a credential edit (`account.updated`): only an account still `pending` and
  without an access token is validated; a redelivery after success finds it active.
* `account.refresh_due`: the sweeper announced the expiry it saw. A stored expiry later than that
  one means another refresh happened since; so does any expiry when the announcement had none.
* `account.credential_rejected`: the rejected access token was issued before the rejection's
  `occurred_at`. The worker records when it last stored a new token (in Redis, by this worker's
  clock); a store after the rejection means the rejected token is already replaced. Without the
  record (expired or lost) the account is refreshed: a spare refresh is cheap, a missed one is not.
* `account.refresh_requested`: a person asked; always refreshed.
* Automatic triggers (due, rejected) leave `disabled` and `invalid` accounts alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.messages.contracts import (
    AccountCreated,
    AccountCredentialRejected,
    AccountRefreshDue,
    AccountRefreshRequested,
    AccountUpdated,
    Event,
)

# Fields of a Kiro account whose change makes a new credential that must be validated.
CREDENTIAL_FIELDS = frozenset({"refresh_token", "client_id", "client_secret", "auth_type", "region"})
_OUT_OF_POOL = frozenset({"disabled", "invalid"})

Trigger = (
    AccountCreated | AccountUpdated | AccountRefreshDue | AccountRefreshRequested | AccountCredentialRejected
)


@dataclass(frozen=True, slots=True)
class AccountState:
    """The non-secret facts of a credentials read that the rules need."""

    status: str
    expires_at: datetime | None
    has_access_token: bool

    @classmethod
    def from_read(cls, stored: dict[str, Any]) -> AccountState:
        expires = stored.get("credential_expires_at")
        return cls(
            status=stored["status"],
            expires_at=datetime.fromisoformat(expires) if isinstance(expires, str) else expires,
            has_access_token=bool((stored.get("secrets") or {}).get("access_token")),
        )


def is_new_credential(event: AccountUpdated) -> bool:
    """An edit that replaced the credential, not the worker's own write (which stores an access token)."""
    fields = set(event.fields)
    return bool(fields & CREDENTIAL_FIELDS) and "access_token" not in fields


def skip_reason(
    event: Event, *, occurred_at: datetime, account: AccountState, refreshed_at: datetime | None
) -> str | None:
    """Why this trigger needs no refresh now, or None to refresh."""
    if isinstance(event, AccountRefreshRequested):
        return None
    if isinstance(event, AccountCreated | AccountUpdated):
        if account.status != "pending" or account.has_access_token:
            return f"already validated (status {account.status})"
        return None
    return outdated_reason(
        event,
        occurred_at=occurred_at,
        status=account.status,
        expires_at=account.expires_at,
        renewed_at=refreshed_at,
    )


def outdated_reason(
    event: Event,
    *,
    occurred_at: datetime,
    status: str,
    expires_at: datetime | None,
    renewed_at: datetime | None,
) -> str | None:
    """Why a scheduled or reactive trigger (refresh due, credential rejected) is out of date by the
    time it is handled (Kiro's and Dreamina's alike), or None if it still needs work."""
    if status in _OUT_OF_POOL:
        return f"account is {status}"
    if isinstance(event, AccountRefreshDue):
        if expires_at is not None and (event.expires_at is None or expires_at > event.expires_at):
            return "renewed since the announcement"
        return None
    if isinstance(event, AccountCredentialRejected):
        if renewed_at is not None and renewed_at > occurred_at:
            return "renewed after the rejection"
        return None
    return f"not a refresh trigger: {event.TYPE}"
