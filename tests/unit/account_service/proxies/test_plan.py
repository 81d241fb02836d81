"""Automatic assignment: only healthy proxies of the account's owner, never more than the limit per
proxy (the accounts already on it count), the least used first, and the region rule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.account_service.proxies.schemas import StoredProxy
from services.account_service.proxies.service import plan

OWNER, OTHER = uuid.uuid4(), uuid.uuid4()
NOW = datetime.now(UTC)


def _proxy(*, owner=OWNER, healthy=True, region=None, accounts=0, latency=10.0) -> StoredProxy:
    return StoredProxy(
        id=uuid.uuid4(), user_id=owner, name=uuid.uuid4().hex[:6], scheme="http", host="h", port=1,
        username=None, region=region, healthy=healthy, last_error=None, last_checked_at=None,
        latency_ms=latency, exit_ip=None, exit_country=None, created_at=NOW, updated_at=NOW,
        accounts=accounts,
    )  # fmt: skip


def _account(*, owner=OWNER, region=None) -> dict:
    return {"id": uuid.uuid4(), "owner_id": owner, "kind": "kiro", "region": region}


def test_only_healthy_proxies_of_the_owner_up_to_the_limit_least_used_first():
    busy = _proxy(accounts=1)
    idle = _proxy()
    unhealthy, untested, foreign = _proxy(healthy=False), _proxy(healthy=None), _proxy(owner=OTHER)
    accounts = [_account() for _ in range(4)] + [_account(owner=OTHER)]
    chosen = plan(
        [busy, idle, unhealthy, untested, foreign], accounts, max_per_proxy=2, same_region_only=False
    )
    by_proxy = [proxy_id for _, proxy_id, _ in chosen]
    assert by_proxy[0] == idle.id  # the least used first
    assert sorted(by_proxy, key=str) == sorted([idle.id, idle.id, busy.id, foreign.id], key=str)
    assert [a for a, _, _ in chosen][-1] == accounts[-1]["id"]  # the other owner's, on their own proxy
    assert {p for _, p, _ in chosen}.isdisjoint({unhealthy.id, untested.id})


def test_the_region_rule_matches_the_accounts_region():
    us, jp = _proxy(region="us-east-1"), _proxy(region="jp")
    accounts = [_account(region="us-east-1"), _account(region="eu-west-1"), _account(region="jp")]
    chosen = plan([us, jp], accounts, max_per_proxy=5, same_region_only=True)
    assert [(a, p) for a, p, _ in chosen] == [(accounts[0]["id"], us.id), (accounts[2]["id"], jp.id)]
