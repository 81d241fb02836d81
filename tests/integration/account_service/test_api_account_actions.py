"""The per-account actions of the old manager, for owners and admins: refresh one (queued for the
worker, 202), restore (usable at once: out of disabled, invalid or exhausted, cooldown and recent
failures forgotten), weight; and what the account view shows besides: today's calls, the last
credential check with its reason and time, credits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.integration.account_service._api import Api
from tests.integration.account_service.test_allocation import (
    SERVICE,
    active_kiro,
    allocate,
    custom,
    publish_usage,
    wait_until,
)


def _dreamina(api: Api, key: str, **fields) -> dict:
    body = {
        "email": f"{uuid.uuid4().hex[:8]}@x.co",
        "password": "pw",
        "region": "us",
        "sessionid": "sid-actions-01",
    }
    response = api.call("POST", "/accounts/dreamina", key, json=body | fields)
    assert response.status_code == 201, response.text
    return response.json()


def _status(api: Api, key: str, account_id: str) -> str:
    return api.call("GET", f"/accounts/{account_id}", key).json()["status"]


def test_refresh_one_is_queued_for_the_worker_by_the_owner_or_an_admin(api: Api) -> None:
    owner, key = api.new_user()
    _, stranger = api.new_user()
    kiro = active_kiro(api, key, region="us-east-1")
    dreamina = _dreamina(api, key)
    tap = api.tap()
    try:
        for account in (kiro, dreamina):
            response = api.call("POST", f"/accounts/{account['id']}/refresh", key)
            assert response.status_code == 202, response.text
            assert response.json() == {
                "account_id": account["id"],
                "kind": account["kind"],
                "requested_by": owner["username"],
            }
        assert api.call("POST", f"/accounts/{kiro['id']}/refresh", stranger).status_code == 404
        assert api.call("POST", f"/accounts/{kiro['id']}/refresh", api.admin_key).status_code == 202
        events = tap.wait_for(
            lambda seen: len([e for e in seen if e["type"] == "account.refresh_requested"]) >= 3
        )
    finally:
        tap.close()
    requested = [
        (e["data"]["account_id"], e["data"]["kind"])
        for e in events
        if e["type"] == "account.refresh_requested"
    ]
    assert requested == [(kiro["id"], "kiro"), (dreamina["id"], "dreamina"), (kiro["id"], "kiro")]
    by = [e["data"]["requested_by"] for e in events if e["type"] == "account.refresh_requested"]
    assert by[:2] == [owner["username"]] * 2 and by[2] != owner["username"]
    assert "sid-actions-01" not in "".join(e["raw"] for e in events)


def test_restore_brings_disabled_invalid_and_exhausted_accounts_back_and_announces_it(api: Api) -> None:
    _, key = api.new_user()
    disabled = _dreamina(api, key)
    api.call("POST", f"/accounts/{disabled['id']}/disable", key)
    invalid = active_kiro(api, key, region="us-east-1")
    api.client.post(
        f"/internal/v1/accounts/{invalid['id']}/status",
        headers=SERVICE,
        json={"status": "invalid", "reason": "invalid_grant"},
    )
    exhausted = _dreamina(api, key, region="cn", password="")
    publish_usage(api, exhausted["id"], "exhausted", status_code=200)
    wait_until(lambda: _status(api, key, exhausted["id"]) == "exhausted")
    assert api.call("GET", f"/accounts/{exhausted['id']}", key).json()["status_until"] is not None

    tap = api.tap()
    try:
        restored = {}
        for account in (disabled, invalid, exhausted):
            response = api.call("POST", f"/accounts/{account['id']}/restore", key)
            assert response.status_code == 200, response.text
            restored[account["id"]] = response.json()
        events = tap.wait_for(
            lambda seen: len([e for e in seen if e["type"] == "account.status_changed"]) >= 3
        )
    finally:
        tap.close()
    for shown in restored.values():
        assert (shown["status"], shown["status_until"]) == ("active", None)
        assert shown["status_reason"].startswith("restored by")
    changed = [e["data"] for e in events if e["type"] == "account.status_changed"]
    assert [(c["account_id"], c["status"]) for c in changed] == [(a, "active") for a in restored]
    assert all(c["reason"].startswith("restored by") for c in changed)


def test_restore_ends_a_cooldown_at_once(api: Api) -> None:
    _, key = api.new_user()
    account = custom(api, key)
    wait_until(lambda: allocate(api, key).status_code == 200)
    publish_usage(api, account["id"], "rate_limited", status_code=429, retry_after=3600)
    wait_until(lambda: allocate(api, key).status_code == 503)
    assert api.call("POST", f"/accounts/{account['id']}/restore", key).json()["status"] == "active"
    assert allocate(api, key).status_code == 200


def test_restore_leaves_an_account_without_a_credential_pending_and_is_for_the_owner_or_an_admin(
    api: Api,
) -> None:
    _, key = api.new_user()
    _, stranger = api.new_user()
    pending = api.call("POST", "/accounts/kiro", key, json={"refresh_token": f"aor{uuid.uuid4().hex}"}).json()
    api.call("POST", f"/accounts/{pending['id']}/disable", key)
    assert api.call("POST", f"/accounts/{pending['id']}/restore", stranger).status_code == 404
    assert _status(api, key, pending["id"]) == "disabled", "a stranger changed nothing"
    restored = api.call("POST", f"/accounts/{pending['id']}/restore", api.admin_key)
    assert restored.status_code == 200 and restored.json()["status"] == "pending"


def test_weight_is_set_per_account_of_every_kind_and_zero_is_never_chosen(api: Api) -> None:
    _, key = api.new_user()
    kinds = [active_kiro(api, key, region="us-east-1"), _dreamina(api, key), custom(api, key)]
    for account in kinds:
        changed = api.call("PATCH", f"/accounts/{account['id']}", key, json={"weight": 37})
        assert changed.status_code == 200 and changed.json()["weight"] == 37, changed.text
    refused = api.call("PATCH", f"/accounts/{kinds[0]['id']}", key, json={"weight": -1})
    assert refused.status_code == 422 and refused.json()["error"]["param"] == "weight"

    _, chooser = api.new_user()
    unused, used = custom(api, chooser), custom(api, chooser)
    wait_until(lambda: allocate(api, chooser, exclude=[used["id"]]).status_code == 200)
    api.call("PATCH", f"/accounts/{unused['id']}", chooser, json={"weight": 0})
    # Once this replica's index has the new weight, the account alone is not chosen at all.
    wait_until(lambda: allocate(api, chooser, exclude=[used["id"]]).status_code == 503)
    picked = {allocate(api, chooser).json()["account"]["id"] for _ in range(30)}
    assert picked == {used["id"]}


def test_the_view_shows_todays_calls_the_last_check_and_credits(api: Api) -> None:
    _, key = api.new_user()
    account = _dreamina(api, key)
    fresh = api.call("GET", f"/accounts/{account['id']}", key).json()
    assert fresh["calls_today"]["total"] == 0 and fresh["last_check"] is None
    assert (fresh["credits"], fresh["credits_read_at"]) == (None, None)

    checked_at = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    # As refresh_worker records a revalidation (it owns these columns; this test only reads them).
    api.fetchval(
        "UPDATE accounts SET last_check_at = $2, last_check_ok = true, last_check_kind = 'revalidation',"
        " last_check_reason = 'sessionid live', credits = 120, credits_read_at = $2"
        " WHERE id = $1 RETURNING 1",
        uuid.UUID(account["id"]),
        checked_at,
    )
    listed = api.call("GET", "/accounts", key, params={"kind": "dreamina"}).json()["items"]
    shown = next(a for a in listed if a["id"] == account["id"])
    assert shown["last_check"] == {
        "at": checked_at.isoformat().replace("+00:00", "Z"),
        "ok": True,
        "kind": "revalidation",
        "reason": "sessionid live",
    }
    assert shown["credits"] == 120 and shown["credits_read_at"] == shown["last_check"]["at"]


@pytest.mark.parametrize("action", ["restore", "refresh"])
def test_an_unknown_account_is_404(api: Api, action: str) -> None:
    response = api.call("POST", f"/accounts/{uuid.uuid4()}/{action}", api.admin_key)
    assert response.status_code == 404 and response.json()["error"]["param"] == "account_id"
