"""The skip rules that keep replicas from refreshing an account more than its triggers need."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.refresh_worker.refresh_rules import AccountState, is_new_credential, skip_reason
from shared.messages.contracts import (
    AccountCreated,
    AccountCredentialRejected,
    AccountRefreshDue,
    AccountRefreshRequested,
    AccountUpdated,
)

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
ID = "6f1c1a6e-0000-4000-8000-000000000001"


def _state(status: str = "active", expires_at: datetime | None = T0, token: bool = True) -> AccountState:
    return AccountState(status=status, expires_at=expires_at, has_access_token=token)


def _skip(event, state, *, occurred_at=T0, refreshed_at=None):
    return skip_reason(event, occurred_at=occurred_at, account=state, refreshed_at=refreshed_at)


def test_the_credentials_read_gives_status_expiry_and_whether_an_access_token_exists():
    state = AccountState.from_read(
        {
            "status": "pending",
            "credential_expires_at": "2025-01-01T12:00:00+00:00",
            "secrets": {"refresh_token": "rt"},
        }
    )
    assert state == AccountState(status="pending", expires_at=T0, has_access_token=False)


def test_a_new_pending_account_is_validated():
    created = AccountCreated(account_id=ID, kind="kiro", owner_id="u")
    assert _skip(created, _state("pending", None, token=False)) is None


def test_a_redelivered_created_event_after_validation_is_skipped():
    created = AccountCreated(account_id=ID, kind="kiro", owner_id="u")
    assert _skip(created, _state("active")) is not None


def test_a_credential_edit_is_validated_but_the_workers_own_write_is_not_a_trigger():
    assert is_new_credential(AccountUpdated(account_id=ID, kind="kiro", fields=["refresh_token"]))
    assert is_new_credential(AccountUpdated(account_id=ID, kind="kiro", fields=["region"]))
    assert not is_new_credential(AccountUpdated(account_id=ID, kind="kiro", fields=["name", "weight"]))
    own = ["access_token", "credential_expires_at", "profile_arn", "refresh_token"]
    assert not is_new_credential(AccountUpdated(account_id=ID, kind="kiro", fields=own))


def test_refresh_due_refreshes_the_expiry_the_sweeper_saw():
    due = AccountRefreshDue(account_id=ID, kind="kiro", expires_at=T0)
    assert _skip(due, _state(expires_at=T0)) is None
    assert _skip(due, _state(expires_at=T0 - timedelta(minutes=1))) is None


def test_refresh_due_is_skipped_once_another_refresh_renewed_the_token():
    due = AccountRefreshDue(account_id=ID, kind="kiro", expires_at=T0)
    assert _skip(due, _state(expires_at=T0 + timedelta(minutes=50))) == "renewed since the announcement"
    never_had_one = AccountRefreshDue(account_id=ID, kind="kiro", expires_at=None)
    assert _skip(never_had_one, _state(expires_at=T0)) is not None
    assert _skip(never_had_one, _state("pending", None, token=False)) is None


@pytest.mark.parametrize("status", ["disabled", "invalid"])
def test_automatic_triggers_leave_accounts_out_of_the_pool_alone(status):
    due = AccountRefreshDue(account_id=ID, kind="kiro", expires_at=T0)
    rejected = AccountCredentialRejected(account_id=ID, kind="kiro", status_code=403)
    assert _skip(due, _state(status)) == f"account is {status}"
    assert _skip(rejected, _state(status)) == f"account is {status}"


def test_a_rejection_is_answered_by_a_refresh_unless_one_was_stored_after_it():
    rejected = AccountCredentialRejected(account_id=ID, kind="kiro", status_code=403)
    assert _skip(rejected, _state(), refreshed_at=None) is None
    assert _skip(rejected, _state(), refreshed_at=T0 - timedelta(seconds=1)) is None
    assert _skip(rejected, _state(), refreshed_at=T0 + timedelta(seconds=1)) == "renewed after the rejection"


@pytest.mark.parametrize("status", ["active", "pending", "invalid", "disabled"])
def test_a_person_asking_for_a_refresh_always_gets_one(status):
    requested = AccountRefreshRequested(account_id=ID, kind="kiro", requested_by="admin")
    assert _skip(requested, _state(status), refreshed_at=T0 + timedelta(hours=1)) is None
