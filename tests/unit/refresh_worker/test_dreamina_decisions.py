"""When a Dreamina trigger needs work, and what the upstream's answer leads to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.refresh_worker.dreamina.decisions import DreaminaAccount, Step, next_step, skip_reason
from shared.messages.contracts import (
    AccountCreated,
    AccountCredentialRejected,
    AccountRefreshDue,
    AccountRefreshRequested,
    AccountUpdated,
)

ID = "6f1c1a6e-0000-4000-8000-000000000002"
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def _account(**changes) -> DreaminaAccount:
    values = {
        "id": ID,
        "status": "active",
        "region": "us",
        "can_login": True,
        "expires_at": NOW + timedelta(days=30),
        "email": "a@example.com",
        "password": "secret-pw",
        "token": "us-secret-sid",
    }
    return DreaminaAccount(**(values | changes))


def test_the_read_is_taken_apart_and_its_secrets_never_shown():
    account = DreaminaAccount.from_read(
        {
            "id": ID,
            "kind": "dreamina",
            "status": "active",
            "region": "jp",
            "settings": {"email": "a@example.com", "can_login": True},
            "credential_expires_at": "2026-06-01T00:00:00+00:00",
            "secrets": {"password": "secret-pw", "sessionid": "secret-sid"},
            "can_login": True,
            "upstream_credential": "jp-secret-sid",
        }
    )
    assert (account.email, account.password, account.token) == ("a@example.com", "secret-pw", "jp-secret-sid")
    assert account.expires_at == datetime(2026, 6, 1, tzinfo=UTC)
    assert "secret" not in repr(account)


def test_a_read_without_a_sessionid_has_no_token():
    account = DreaminaAccount.from_read(
        {"id": ID, "status": "pending", "region": "us", "settings": {}, "secrets": {"password": "pw"}}
    )
    assert account.token is None and account.can_login is False


@pytest.mark.parametrize("status", ["active", "pending", "invalid", "disabled", "exhausted"])
def test_a_new_account_and_a_persons_refresh_are_always_revalidated(status):
    account = _account(status=status)
    for event in (
        AccountCreated(account_id=ID, kind="dreamina", owner_id="u"),
        AccountRefreshRequested(account_id=ID, kind="dreamina"),
    ):
        assert skip_reason(event, occurred_at=NOW, account=account, renewed_at=NOW + DAY) is None


@pytest.mark.parametrize("status", ["invalid", "disabled"])
def test_automatic_triggers_leave_accounts_out_of_the_pool_alone(status):
    account = _account(status=status)
    for event in (
        AccountRefreshDue(account_id=ID, kind="dreamina", expires_at=account.expires_at),
        AccountCredentialRejected(account_id=ID, kind="dreamina", status_code=200),
    ):
        assert skip_reason(event, occurred_at=NOW, account=account, renewed_at=None) == f"account is {status}"


def test_a_due_announcement_is_answered_by_a_later_expiry():
    account = _account(expires_at=NOW + DAY)
    due = AccountRefreshDue(account_id=ID, kind="dreamina", expires_at=NOW + timedelta(hours=3))
    assert (
        skip_reason(due, occurred_at=NOW, account=account, renewed_at=None)
        == "renewed since the announcement"
    )
    same = AccountRefreshDue(account_id=ID, kind="dreamina", expires_at=NOW + DAY)
    assert skip_reason(same, occurred_at=NOW, account=account, renewed_at=None) is None
    no_expiry = _account(expires_at=None)
    assert skip_reason(same, occurred_at=NOW, account=no_expiry, renewed_at=None) is None


def test_a_rejection_is_answered_by_a_sessionid_stored_after_it():
    rejected = AccountCredentialRejected(account_id=ID, kind="dreamina", status_code=200)
    account = _account()
    assert skip_reason(rejected, occurred_at=NOW, account=account, renewed_at=NOW + timedelta(seconds=1))
    assert (
        skip_reason(rejected, occurred_at=NOW, account=account, renewed_at=NOW - timedelta(seconds=1)) is None
    )
    assert skip_reason(rejected, occurred_at=NOW, account=account, renewed_at=None) is None


def test_other_events_are_no_trigger():
    updated = AccountUpdated(account_id=ID, kind="dreamina", fields=["sessionid"])
    assert skip_reason(updated, occurred_at=NOW, account=_account(), renewed_at=None) == (
        "not a refresh trigger: account.updated"
    )


def _step(live, account, held_back=False) -> Step:
    return next_step(live=live, account=account, now=NOW, relogin_before=DAY, retry_held_back=held_back)


def test_a_live_sessionid_far_from_its_expiry_is_kept():
    assert _step(True, _account()) is Step.KEEP


def test_a_live_sessionid_about_to_expire_is_renewed_unless_a_retry_is_held_back():
    soon = _account(expires_at=NOW + timedelta(hours=3))
    assert _step(True, soon) is Step.LOGIN
    assert _step(True, soon, held_back=True) is Step.KEEP
    assert _step(True, _account(expires_at=NOW - timedelta(days=1))) is Step.LOGIN


def test_a_dead_sessionid_or_none_means_a_login_for_an_account_that_can():
    assert _step(False, _account()) is Step.LOGIN
    assert _step(None, _account(token=None, expires_at=None)) is Step.LOGIN
    assert _step(False, _account(), held_back=True) is Step.LOGIN, "dead: the hold-back does not apply"


@given(
    live=st.sampled_from([True, False, None]),
    region=st.sampled_from(["us", "hk", "jp", "sg", "cn"]),
    expires_in_h=st.one_of(st.none(), st.integers(min_value=-1000, max_value=2000)),
    held_back=st.booleans(),
)
def test_an_account_that_cannot_log_in_is_never_sent_to_a_login(live, region, expires_in_h, held_back):
    expires = None if expires_in_h is None else NOW + timedelta(hours=expires_in_h)
    account = _account(can_login=False, region=region, password="", expires_at=expires)
    step = _step(live, account, held_back)
    assert step is not Step.LOGIN
    if live:
        assert step is Step.KEEP
    else:
        assert step is (Step.KEEP_DEAD if region == "cn" else Step.INVALIDATE)
