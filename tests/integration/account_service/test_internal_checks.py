"""What the refresh worker reads and writes for Dreamina accounts: the rules applied in the read
(`can_login`, the region-prefixed upstream credential), a login's sessionid stored, and every
credential check recorded with its credits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.settings import DEV_SERVICE_TOKEN
from tests.integration.account_service._api import Api

SERVICE = {"authorization": f"Bearer {DEV_SERVICE_TOKEN}"}


def _dreamina(api: Api, key: str, **fields) -> dict:
    body = {"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": "pw", "region": "us", **fields}
    answer = api.call("POST", "/accounts/dreamina", key, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _read(api: Api, account_id: str) -> dict:
    answer = api.client.get(f"/internal/v1/accounts/{account_id}/credentials", headers=SERVICE)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _check(api: Api, account_id: str, **body):
    values = {"kind": "revalidation", "ok": True, "checked_at": datetime.now(UTC).isoformat()} | body
    return api.client.post(f"/internal/v1/accounts/{account_id}/checks", headers=SERVICE, json=values)


def _row(api: Api, account_id: str) -> dict:
    return api.client.portal.call(
        api.client.app.state.pool.fetchrow,
        "SELECT status, status_reason, last_check_at, last_check_ok, last_check_kind, last_check_reason,"
        " credits, credits_read_at FROM accounts WHERE id = $1",
        uuid.UUID(account_id),
    )


@pytest.mark.parametrize(
    ("region", "password", "sessionid", "can_login", "credential"),
    [
        ("us", "pw", "abc", True, "us-abc"),
        ("hk", "pw", "hk-abc", True, "hk-abc"),
        ("jp", "   ", "abc", False, "jp-abc"),
        ("sg", "", "abc", False, "sg-abc"),
        ("cn", "pw", "abc", False, "abc"),
        ("us", "pw", None, True, None),
    ],
)
def test_a_dreamina_read_carries_the_rules_the_worker_applies(
    api, region, password, sessionid, can_login, credential
):
    _, key = api.new_user()
    fields = {"region": region, "password": password}
    if sessionid:
        fields["sessionid"] = sessionid
    read = _read(api, _dreamina(api, key, **fields)["id"])
    assert (read["can_login"], read["upstream_credential"]) == (can_login, credential)


def test_a_kiro_read_has_no_dreamina_fields(api):
    _, key = api.new_user()
    answer = api.call("POST", "/accounts/kiro", key, json={"refresh_token": f"rt-{uuid.uuid4().hex}"})
    read = _read(api, answer.json()["id"])
    assert "can_login" not in read and "upstream_credential" not in read


def test_a_login_without_a_cookie_expiry_gets_the_default_lifetime(api):
    _, key = api.new_user()
    account = _dreamina(api, key)
    assert account["status"] == "pending"
    stored = api.client.put(
        f"/internal/v1/accounts/{account['id']}/credentials",
        headers=SERVICE,
        json={"expires_at": None, "secrets": {"sessionid": "fresh"}},
    )
    assert stored.json()["status"] == "active", stored.text
    read = _read(api, account["id"])
    assert read["secrets"]["sessionid"] == "fresh" and read["upstream_credential"] == "us-fresh"
    expires = datetime.fromisoformat(read["credential_expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=60))) < timedelta(minutes=1)


def test_a_check_is_recorded_with_the_credits_and_when_they_were_read(api):
    _, key = api.new_user()
    account = _dreamina(api, key, sessionid="s1")
    checked_at = datetime.now(UTC) - timedelta(seconds=5)
    read_at = datetime.now(UTC) - timedelta(seconds=4)
    answer = _check(
        api,
        account["id"],
        kind="login",
        reason="logged in",
        checked_at=checked_at.isoformat(),
        credits=120,
        credits_read_at=read_at.isoformat(),
    )
    assert answer.status_code == 200, answer.text
    row = _row(api, account["id"])
    assert (row["last_check_kind"], row["last_check_ok"], row["last_check_reason"]) == (
        "login",
        True,
        "logged in",
    )
    assert (row["last_check_at"], row["credits"], row["credits_read_at"]) == (checked_at, 120, read_at)

    # A later check that read no credits keeps the ones read before, with their time.
    assert _check(api, account["id"], ok=False, reason="jimeng-api unreachable").status_code == 200
    row = _row(api, account["id"])
    assert (row["last_check_ok"], row["credits"], row["credits_read_at"]) == (False, 120, read_at)
    assert row["status"] == "active", "a failed check alone changes no status"


def test_a_good_check_brings_an_account_that_was_invalid_back(api):
    _, key = api.new_user()
    account = _dreamina(api, key, sessionid="s1")
    rejected = api.client.post(
        f"/internal/v1/accounts/{account['id']}/status",
        headers=SERVICE,
        json={"status": "invalid", "reason": "sessionid dead"},
    )
    assert rejected.json()["status"] == "invalid"
    answer = _check(api, account["id"])
    assert answer.json()["status"] == "active"
    assert _row(api, account["id"])["status_reason"] == "revalidation: credential ok"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"credits": 5}, "credits_read_at"),
        ({"credits_read_at": "2026-01-01T00:00:00Z"}, "credits_read_at"),
        ({"kind": "guess"}, "kind"),
        ({"reason": "x" * 501}, "reason"),
    ],
)
def test_a_malformed_check_is_refused_naming_the_field(api, body, param):
    _, key = api.new_user()
    account = _dreamina(api, key, sessionid="s1")
    answer = _check(api, account["id"], **body)
    assert 400 <= answer.status_code < 500, answer.text
    assert param in answer.text


def test_a_check_of_an_unknown_account_is_a_404(api):
    assert _check(api, str(uuid.uuid4())).status_code == 404
