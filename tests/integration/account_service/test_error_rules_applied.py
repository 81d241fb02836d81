"""The usage consumer applies the first matching error rule instead of the outcome's default
consequence: disable with the rule's reason, cool down, mark exhausted, or ignore (not a failure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tests.integration.account_service._api import Api
from tests.integration.account_service._usage import call, consume, key_id
from tests.integration.account_service.test_allocation import custom


def _rule(api: Api, key: str, **fields) -> dict:
    response = api.call("POST", "/error-rules", key, json=fields)
    assert response.status_code == 201, response.text
    return response.json()


def _failed(
    api: Api, key: str, user: dict, account: dict, *, status: int, excerpt: str, outcome: str
) -> None:
    envelope = call(
        key_id=key_id(api, key),
        user_id=user["id"],
        account_id=account["id"],
        model="claude-sonnet-4-5",
        at=datetime.now(UTC),
        outcome=outcome,
        status_code=status,
        error_excerpt=excerpt,
    )
    consume(api, [envelope])


def _cooling(api: Api, account_id: str) -> bool:
    live = api.client.portal.call(api.client.app.state.picker.live, [account_id])
    return live[account_id].cooling_until_ms is not None


def test_a_matching_body_disables_the_account_with_the_rules_reason(api: Api) -> None:
    user, key = api.new_user()
    account = custom(api, key)
    marker = uuid.uuid4().hex[:10]
    _rule(api, key, pattern=f"org {marker} suspended", action="disable", reason="organisation suspended")
    _failed(
        api,
        key,
        user,
        account,
        status=400,
        excerpt=f'{{"error":"org {marker} suspended"}}',
        outcome="client_error",
    )
    got = api.call("GET", f"/accounts/{account['id']}", key).json()
    assert got["status"] == "disabled" and got["status_reason"] == "organisation suspended"
    assert got["last_error"] == "organisation suspended" and got["last_error_at"] is not None


def test_a_cooldown_rule_cools_instead_of_invalidating(api: Api) -> None:
    user, key = api.new_user()
    account = custom(api, key)
    _rule(
        api,
        key,
        status_code=401,
        account_id=account["id"],
        action="cooldown",
        seconds=120,
        reason="flaky auth",
    )
    _failed(api, key, user, account, status=401, excerpt="unauthorized", outcome="credential_rejected")
    got = api.call("GET", f"/accounts/{account['id']}", key).json()
    assert got["status"] == "active" and got["last_error"] == "flaky auth"  # not invalid: the rule decided
    assert _cooling(api, account["id"])


def test_an_ignore_rule_leaves_the_account_active_and_uncounted(api: Api) -> None:
    user, key = api.new_user()
    account = custom(api, key)
    _rule(
        api, key, status_code=402, match_type="regex", pattern=r"insufficient_quota|billing", action="ignore"
    )
    _failed(
        api,
        key,
        user,
        account,
        status=402,
        excerpt='{"error":{"code":"insufficient_quota"}}',
        outcome="exhausted",
    )
    got = api.call("GET", f"/accounts/{account['id']}", key).json()
    assert got["status"] == "active" and got["fail_count"] == 0 and got["calls_today"]["total"] == 1
    assert not _cooling(api, account["id"])


def test_an_exhausted_rule_lasts_until_the_next_day(api: Api) -> None:
    user, key = api.new_user()
    account = custom(api, key)
    _rule(
        api,
        key,
        status_code=429,
        pattern="daily limit",
        action="exhausted",
        until_next_day=True,
        reason="daily cap",
    )
    _failed(api, key, user, account, status=429, excerpt="daily limit reached", outcome="rate_limited")
    got = api.call("GET", f"/accounts/{account['id']}", key).json()
    days = api.client.app.state.days
    assert got["status"] == "exhausted" and got["status_reason"] == "daily cap"
    assert datetime.fromisoformat(got["status_until"]) == days.next_start(days.now())


def test_another_users_rule_and_a_non_matching_rule_leave_the_default(api: Api) -> None:
    user, key = api.new_user()
    _, other_key = api.new_user()
    account = custom(api, key)
    _rule(api, other_key, status_code=401, action="ignore")  # someone else's rule: not for this account
    _rule(api, key, status_code=401, kind="kiro", action="ignore")  # another kind
    _failed(api, key, user, account, status=401, excerpt="bad key", outcome="credential_rejected")
    got = api.call("GET", f"/accounts/{account['id']}", key).json()
    assert got["status"] == "invalid" and got["fail_count"] == 1  # the default: a custom API key is dead


def _batch(api: Api, key: str, user: dict, account: dict, failures: list[dict]) -> None:
    """The failures as one batch of the usage consumer, in order."""
    at = datetime.now(UTC)
    ids = {"key_id": key_id(api, key), "user_id": user["id"], "account_id": account["id"]}
    consume(api, [call(**ids, model="claude-sonnet-4-5", at=at, **failure) for failure in failures])


def test_a_rule_sees_what_an_earlier_rule_of_the_batch_did_to_the_account(api: Api) -> None:
    user, key = api.new_user()
    account = custom(api, key)
    marker = uuid.uuid4().hex[:10]
    _rule(api, key, status_code=429, pattern="daily limit", action="exhausted", seconds=600, reason="cap")
    _rule(api, key, pattern=f"org {marker} suspended", action="disable", reason="organisation suspended")
    _batch(
        api,
        key,
        user,
        account,
        [
            {"outcome": "rate_limited", "status_code": 429, "error_excerpt": "daily limit reached"},
            {"outcome": "client_error", "status_code": 400, "error_excerpt": f"org {marker} suspended"},
        ],
    )
    got = api.call("GET", f"/accounts/{account['id']}", key).json()
    assert got["status"] == "exhausted" and got["status_reason"] == "cap"  # out of the pool already
    assert got["last_error"] == "organisation suspended"


def test_a_rule_after_a_refused_credential_of_the_batch_leaves_the_account_invalid(api: Api) -> None:
    user, key = api.new_user()
    account = custom(api, key)
    marker = uuid.uuid4().hex[:10]
    _rule(api, key, pattern=f"org {marker} suspended", action="disable", reason="organisation suspended")
    _batch(
        api,
        key,
        user,
        account,
        [
            {"outcome": "credential_rejected", "status_code": 401, "error_excerpt": "bad key"},
            {"outcome": "client_error", "status_code": 400, "error_excerpt": f"org {marker} suspended"},
        ],
    )
    got = api.call("GET", f"/accounts/{account['id']}", key).json()
    assert (
        got["status"] == "invalid" and got["status_reason"] == "upstream rejected the credential (HTTP 401)"
    )
