"""Quota-aware routing against the real services: readings arrive as the proxy and the worker send
them (`usage.recorded` with rate-limit headers' quota, credential checks with credits or Kiro's usage
limits), are stored on the account, reach every replica's index, and weigh the pick."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.account_service.allocation.quota import SCALE, pick_weight
from tests.integration.account_service._api import Api
from tests.integration.account_service.test_allocation import (
    SERVICE,
    allocate,
    custom,
    publish_usage,
    wait_until,
)

PICKS = 600


def _quota(api: Api, key: str, account_id: str) -> dict | None:
    return api.call("GET", f"/accounts/{account_id}", key).json()["quota"]


def _indexed(api: Api, account_id: str):
    return api.client.app.state.allocator._index.get(account_id)


def _reading(
    api: Api, account_id: str, remaining: float, resets_in: timedelta = timedelta(minutes=5)
) -> None:
    publish_usage(
        api,
        account_id,
        "success",
        quota_remaining=remaining,
        quota_resets_at=(datetime.now(UTC) + resets_in).isoformat(),
    )


def _both_servable(api: Api, ids: set[str]) -> None:
    """Both accounts reached this replica's index through the queue (without taking a lease)."""
    wait_until(lambda: all(_indexed(api, i) is not None for i in ids))


def test_the_usage_consumer_stores_the_quota_the_headers_said(api: Api) -> None:
    _, key = api.new_user()
    account = custom(api, key)
    resets_at = datetime.now(UTC) + timedelta(seconds=40)
    publish_usage(api, account["id"], "success", quota_remaining=0.4, quota_resets_at=resets_at.isoformat())
    quota = wait_until(lambda: _quota(api, key, account["id"]))
    assert quota["source"] == "ratelimit_headers"
    assert quota["fraction_left"] == pytest.approx(0.4)
    assert abs((datetime.fromisoformat(quota["resets_at"]) - resets_at).total_seconds()) < 0.01
    assert quota["spared"] is False and quota["runs_out_at"] is None
    # The replica's index heard of it: the account weighs 40% of its weight.
    wait_until(lambda: _indexed(api, account["id"]).quota_weight == pick_weight(account["weight"], 0.4))


def test_an_account_spending_fast_enough_to_run_out_before_its_reset_is_spared(api: Api) -> None:
    _, key = api.new_user()
    account = custom(api, key)
    _reading(api, account["id"], 0.9, timedelta(hours=1))
    wait_until(lambda: (q := _quota(api, key, account["id"])) and q["fraction_left"] == pytest.approx(0.9))
    _reading(api, account["id"], 0.5, timedelta(hours=1))  # a second reading moments later: gone in seconds
    quota = wait_until(lambda: (q := _quota(api, key, account["id"])) and q["fraction_left"] < 0.6 and q)
    assert quota["spared"] is True
    assert datetime.fromisoformat(quota["runs_out_at"]) < datetime.fromisoformat(quota["resets_at"])
    wait_until(lambda: _indexed(api, account["id"]).quota_spared)
    # A reset (more left than before) ends the projection.
    _reading(api, account["id"], 1.0, timedelta(hours=1))
    quota = wait_until(lambda: (q := _quota(api, key, account["id"])) and q["fraction_left"] == 1.0 and q)
    assert quota["spared"] is False and quota["runs_out_at"] is None


def test_bad_quota_values_never_reach_the_account(api: Api) -> None:
    _, key = api.new_user()
    account = custom(api, key)
    checks = api.client.post(
        f"/internal/v1/accounts/{account['id']}/checks",
        headers=SERVICE,
        json={
            "kind": "refresh",
            "ok": True,
            "checked_at": datetime.now(UTC).isoformat(),
            "usage_limits": {"remaining": 5, "limit": 0, "read_at": datetime.now(UTC).isoformat()},
        },
    )
    assert checks.status_code == 422 and "limit" in checks.text, checks.text
    assert _quota(api, key, account["id"]) is None


def test_credits_and_kiro_usage_limits_from_checks_are_stored_as_quota(api: Api) -> None:
    _, key = api.new_user()
    account = custom(api, key)
    now = datetime.now(UTC)

    def check(**fields) -> None:
        response = api.client.post(
            f"/internal/v1/accounts/{account['id']}/checks",
            headers=SERVICE,
            json={"kind": "refresh", "ok": True, "checked_at": now.isoformat(), **fields},
        )
        assert response.status_code == 200, response.text

    resets_at = now + timedelta(days=12)
    check(
        usage_limits={
            "remaining": 12.5,
            "limit": 50,
            "resets_at": resets_at.isoformat(),
            "read_at": now.isoformat(),
        }
    )
    quota = _quota(api, key, account["id"])
    assert (quota["source"], quota["remaining"], quota["limit"]) == ("kiro_usage_limits", 12.5, 50)
    assert quota["fraction_left"] == pytest.approx(0.25)
    assert datetime.fromisoformat(quota["resets_at"]) == resets_at
    # Dreamina's credits have no stated limit: the most the account has held stands for it.
    check(credits=80, credits_read_at=(now + timedelta(seconds=1)).isoformat())
    quota = _quota(api, key, account["id"])
    assert (quota["source"], quota["remaining"], quota["limit"]) == ("dreamina_points", 80, 80)
    check(credits=20, credits_read_at=(now + timedelta(seconds=2)).isoformat())
    quota = _quota(api, key, account["id"])
    assert (quota["remaining"], quota["limit"], quota["fraction_left"]) == (20, 80, 0.25)


def test_picks_split_by_the_quota_each_account_has_left(api: Api) -> None:
    _, key = api.new_user()
    low, high = custom(api, key), custom(api, key)
    _both_servable(api, {low["id"], high["id"]})
    _reading(api, low["id"], 0.1)
    _reading(api, high["id"], 0.9)
    wait_until(lambda: _indexed(api, low["id"]).quota_weight == pick_weight(low["weight"], 0.1))
    wait_until(lambda: _indexed(api, high["id"]).quota_weight == pick_weight(high["weight"], 0.9))
    picks = Counter(allocate(api, key).json()["account"]["id"] for _ in range(PICKS))
    # Expected 10% : 90% (60 of 600, σ ≈ 7); an even split would give 300.
    assert 25 <= picks[low["id"]] <= 110, picks
    assert picks[low["id"]] + picks[high["id"]] == PICKS


def test_a_spared_account_serves_only_when_the_others_are_full(api: Api) -> None:
    _, key = api.new_user()
    spared = custom(api, key)
    other = custom(api, key, max_concurrency=2)
    _both_servable(api, {spared["id"], other["id"]})
    _reading(api, spared["id"], 0.9, timedelta(hours=1))
    wait_until(lambda: _indexed(api, spared["id"]).quota_weight == pick_weight(spared["weight"], 0.9))
    _reading(api, spared["id"], 0.8, timedelta(hours=1))
    wait_until(lambda: _indexed(api, spared["id"]).quota_spared)
    # Each pick releases the lease before it: the other account always has a free slot.
    lease = None
    for _ in range(40):
        answer = allocate(api, key, release=[lease] if lease else []).json()
        assert answer["account"]["id"] == other["id"]
        lease = [other["id"], answer["lease_id"]]
    # The other account's two slots taken (the last lease and one more): the spared one serves.
    assert allocate(api, key).json()["account"]["id"] == other["id"]
    assert allocate(api, key).json()["account"]["id"] == spared["id"]


def test_a_reading_whose_reset_has_passed_no_longer_weighs(api: Api) -> None:
    _, key = api.new_user()
    account = custom(api, key)
    _reading(api, account["id"], 0.2, timedelta(seconds=30))
    wait_until(lambda: _indexed(api, account["id"]).quota_weight == pick_weight(account["weight"], 0.2))
    candidate = _indexed(api, account["id"])
    now = datetime.now(UTC).timestamp()
    assert candidate.pick_weight(now) == pick_weight(account["weight"], 0.2)
    assert candidate.pick_weight(now + 60) == account["weight"] * SCALE


def test_a_usage_without_quota_fields_leaves_the_quota_alone(api: Api) -> None:
    """An older proxy's `usage.recorded` (no quota fields) counts as before and stores no quota."""
    _, key = api.new_user()
    account = custom(api, key)
    publish_usage(api, account["id"], "success")
    wait_until(lambda: api.call("GET", f"/accounts/{account['id']}", key).json()["success_count"] == 1)
    assert _quota(api, key, account["id"]) is None
