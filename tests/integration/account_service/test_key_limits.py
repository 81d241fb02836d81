"""Limits per API key through the management API and the allocation that enforces them: account_service
in-process on the real PostgreSQL, Redis and RabbitMQ; tokens arrive as `usage.recorded` events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.account_service._api import Api
from tests.integration.account_service.conftest import serving_api
from tests.integration.account_service.test_allocation import (
    CLAUDE_MODEL,
    SERVICE,
    allocate,
    custom,
    publish_usage,
    wait_until,
)
from tests.support.infra import Infra


def _user_with_account(api: Api, **limits) -> tuple[dict, str, dict]:
    """A user with one account that serves any model, and a key of theirs with `limits`."""
    _, owner_key = api.new_user()
    account = custom(api, owner_key)
    created = api.call("POST", "/keys", owner_key, json={"name": "limited", **limits})
    assert created.status_code == 201, created.text
    key = created.json()
    wait_until(lambda: allocate(api, owner_key).status_code == 200)
    return key, owner_key, account


def _refusal(response) -> dict:
    return response.json()["error"]


def test_limits_are_set_at_creation_read_back_and_changed(api: Api) -> None:
    key, owner_key, _ = _user_with_account(
        api,
        requests_per_minute=60,
        concurrency=2,
        tokens_per_day=100_000,
        allowed_models=["claude-*", "gpt-4o"],
    )
    assert (key["requests_per_minute"], key["concurrency"], key["tokens_per_day"]) == (60, 2, 100_000)
    assert key["allowed_models"] == ["claude-*", "gpt-4o"]
    listed = {k["id"]: k for k in api.call("GET", "/keys", owner_key).json()}
    assert listed[key["id"]]["concurrency"] == 2

    tap = api.tap()
    changed = api.call(
        "PATCH", f"/keys/{key['id']}", owner_key, json={"concurrency": 5, "tokens_per_day": None}
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["requests_per_minute"], body["concurrency"], body["tokens_per_day"]) == (60, 5, None)
    assert body["allowed_models"] == ["claude-*", "gpt-4o"]  # not sent: unchanged
    assert api.call("GET", f"/keys/{key['id']}", owner_key).json()["concurrency"] == 5
    tap.wait_for(
        lambda seen: any(e["type"] == "api_key.changed" and e["data"]["key_id"] == key["id"] for e in seen)
    )
    tap.close()

    cleared = api.call("PATCH", f"/keys/{key['id']}", owner_key, json={"allowed_models": []})
    assert cleared.json()["allowed_models"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"requests_per_minute": 0}, "requests_per_minute"),
        ({"concurrency": -1}, "concurrency"),
        ({"tokens_per_day": "lots"}, "tokens_per_day"),
        ({"allowed_models": [" "]}, "allowed_models.0"),
        ({"allowed_models": "gpt-4o"}, "allowed_models"),
        ({"requests_per_minuet": 5}, "requests_per_minuet"),
    ],
)
def test_a_bad_limit_is_refused_naming_the_field(api: Api, body: dict, field: str) -> None:
    _, owner_key = api.new_user()
    key = api.call("POST", "/keys", owner_key, json={}).json()
    for response in (
        api.call("POST", "/keys", owner_key, json=body),
        api.call("PATCH", f"/keys/{key['id']}", owner_key, json=body),
    ):
        assert response.status_code == 422, response.text
        assert _refusal(response)["param"] == field


def test_another_users_key_cannot_be_changed(api: Api) -> None:
    _, mine = api.new_user()
    _, theirs = api.new_user()
    key = api.call("POST", "/keys", theirs, json={}).json()
    response = api.call("PATCH", f"/keys/{key['id']}", mine, json={"concurrency": 1})
    assert response.status_code == 404
    assert api.call("GET", f"/keys/{key['id']}", theirs).json()["concurrency"] is None


def test_requests_per_minute_refuses_the_next_call_and_retries_count_once(api: Api) -> None:
    key, _, _ = _user_with_account(api, requests_per_minute=2)
    first = allocate(api, key["key"])
    assert first.status_code == 200, first.text
    # The first call's retry on another account: neither refused nor counted.
    assert allocate(api, key["key"], retry=True).status_code == 200
    assert allocate(api, key["key"]).status_code == 200
    refused = allocate(api, key["key"])
    assert refused.status_code == 429, refused.text
    error = _refusal(refused)
    assert error["kind"] == "rate_limit" and error["code"] == "requests_per_minute_exceeded"
    assert "requests_per_minute limit of 2 reached" in error["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_concurrency_is_freed_when_the_lease_is_released(api: Api) -> None:
    key, _, _ = _user_with_account(api, concurrency=1)
    held = allocate(api, key["key"]).json()
    refused = allocate(api, key["key"])
    assert refused.status_code == 429
    assert _refusal(refused)["code"] == "concurrency_exceeded"
    assert "concurrency limit of 1 reached" in _refusal(refused)["message"]
    lease = [held["account"]["id"], held["lease_id"]]
    renewed = api.client.post("/internal/v1/leases", headers=SERVICE, json={"renew": [lease]})
    assert renewed.json() == {"renewed": 1}
    assert allocate(api, key["key"]).status_code == 429  # renewing keeps the slot
    api.client.post("/internal/v1/leases", headers=SERVICE, json={"release": [lease]})
    again = allocate(api, key["key"])
    assert again.status_code == 200, again.text
    # A release carried by the next allocation is applied before the key's limit is checked.
    carried = [again.json()["account"]["id"], again.json()["lease_id"]]
    assert allocate(api, key["key"], release=[carried]).status_code == 200


def _tokens_counted(api: Api, key_id: str) -> int:
    """The key's tokens today, as the pick script reads them (keys/tokens.py)."""
    state = api.client.app.state
    day = state.days.today().isoformat()
    value = api.client.portal.call(
        state.redis.get, f"{api.infra.redis_prefix}:alloc:keytokens:{key_id}:{day}"
    )
    return int(value or 0)


def test_tokens_per_day_refuse_once_reached_and_the_event_is_published_once(api: Api) -> None:
    key, _, account = _user_with_account(api, tokens_per_day=1000)
    tap = api.tap()
    publish_usage(api, account["id"], "success", api_key_id=key["id"], input_tokens=400, output_tokens=300)
    wait_until(lambda: _tokens_counted(api, key["id"]) == 700)
    assert allocate(api, key["key"]).status_code == 200
    publish_usage(api, account["id"], "success", api_key_id=key["id"], input_tokens=200, output_tokens=100)
    wait_until(lambda: _tokens_counted(api, key["id"]) == 1000)
    refused = allocate(api, key["key"])
    assert refused.status_code == 429, refused.text
    assert _refusal(refused)["code"] == "tokens_per_day_exceeded"
    assert "tokens_per_day limit of 1000 reached" in _refusal(refused)["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 24 * 3600
    # Over the limit again, twice: no second event. Batches are handled one after the other, so once
    # the last one is counted the one before it has published whatever it was going to.
    publish_usage(api, account["id"], "success", api_key_id=key["id"], input_tokens=50)
    wait_until(lambda: _tokens_counted(api, key["id"]) == 1050)
    publish_usage(api, account["id"], "success", api_key_id=key["id"], output_tokens=1)
    wait_until(lambda: _tokens_counted(api, key["id"]) == 1051)
    seen = tap.wait_for(lambda seen: any(e["type"] == "api_key.limit_reached" for e in seen))
    tap.close()
    reached = [e["data"] for e in seen if e["type"] == "api_key.limit_reached"]
    assert len(reached) == 1
    assert reached[0]["key_id"] == key["id"] and reached[0]["limit"] == "tokens_per_day"
    assert reached[0]["value"] == 1000 and reached[0]["day"] and reached[0]["resets_at"]


def test_a_model_outside_the_allowed_list_is_refused_before_any_account(api: Api) -> None:
    key, _, _ = _user_with_account(api, allowed_models=["claude-*"])
    assert allocate(api, key["key"], model=CLAUDE_MODEL).status_code == 200
    refused = allocate(api, key["key"], model="gpt-4o")
    assert refused.status_code == 403
    error = _refusal(refused)
    assert (error["kind"], error["param"], error["code"]) == ("permission", "model", "model_not_allowed")
    assert "'gpt-4o'" in error["message"]


def test_a_changed_limit_holds_at_once(api: Api) -> None:
    key, owner_key, _ = _user_with_account(api)
    for _ in range(3):
        assert allocate(api, key["key"]).status_code == 200
    api.call("PATCH", f"/keys/{key['id']}", owner_key, json={"requests_per_minute": 3})
    wait_until(lambda: allocate(api, key["key"]).status_code == 429)


@pytest.fixture(scope="module")
def defaults_api(infra: Infra) -> Iterator[Api]:
    with serving_api(
        infra, "limits", POOLGATE_KEY_DEFAULT_RPM="1", POOLGATE_KEY_DEFAULT_CONCURRENCY=""
    ) as served:
        yield served


def test_the_operator_default_applies_to_keys_without_their_own(defaults_api: Api) -> None:
    plain, _, _ = _user_with_account(defaults_api)
    own, _, _ = _user_with_account(defaults_api, requests_per_minute=3)
    # _user_with_account's own allocation used the owner's key: these keys are fresh.
    assert allocate(defaults_api, plain["key"]).status_code == 200
    refused = allocate(defaults_api, plain["key"])
    assert refused.status_code == 429
    assert "requests_per_minute limit of 1 reached" in _refusal(refused)["message"]
    assert [allocate(defaults_api, own["key"]).status_code for _ in range(3)] == [200, 200, 200]
    assert allocate(defaults_api, own["key"]).status_code == 429
