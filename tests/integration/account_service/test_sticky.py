"""Sticky sessions (allocation/sticky.py): the pick script on the real Redis binds a session to the
account it picks, takes that account again while it is eligible, and moves the binding at once
when it is not (cooling, full, not a candidate: excluded, invalid, not serving the model); then
the same through account_service's allocation API."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from services.account_service.allocation.picker import Picker
from services.account_service.allocation.sticky import Sticky, sticky_for
from tests.integration.account_service._api import Api
from tests.integration.account_service.test_allocation import allocate, custom, publish_usage, wait_until

ACCOUNTS = [("a", 100, 2), ("b", 100, 2), ("c", 100, 2)]


@pytest.fixture
def picker(redis, infra) -> Picker:
    return Picker(redis, prefix=f"{infra.redis_prefix}:sticky:{uuid.uuid4().hex[:6]}", lease_ttl_s=600)


def _session(lookup: bool = True) -> Sticky:
    return Sticky(f"key:{uuid.uuid4().hex}", 60_000, lookup)


def _lease() -> str:
    return uuid.uuid4().hex


async def _pick(picker: Picker, sticky: Sticky, candidates=ACCOUNTS, *, keep: bool = False):
    lease = _lease()
    pick = await picker.pick(lease, candidates, sticky=sticky)
    if pick.account_id is not None and not keep:
        await picker.release([(pick.account_id, lease)])
    return pick


async def _bound(picker: Picker, sticky: Sticky) -> str | None:
    value = await picker._redis.get(f"{picker._prefix}:sticky:{sticky.key}")
    return value.decode() if value is not None else None


async def test_a_session_binds_on_its_first_pick_and_hits_after(picker: Picker) -> None:
    sticky = _session()
    first = await _pick(picker, sticky)
    assert first.sticky == "new"
    assert await _bound(picker, sticky) == first.account_id
    for _ in range(30):
        pick = await _pick(picker, sticky)
        assert (pick.account_id, pick.sticky) == (first.account_id, "hit")
    ttl = await picker._redis.pttl(f"{picker._prefix}:sticky:{sticky.key}")
    assert 50_000 < ttl <= 60_000


async def test_a_cooling_bound_account_moves_the_binding_at_once_and_it_stays_moved(picker: Picker) -> None:
    sticky = _session()
    bound = (await _pick(picker, sticky)).account_id
    await picker.cool_down(bound, 30)
    moved = await _pick(picker, sticky)
    assert moved.sticky == "moved" and moved.account_id != bound
    assert await _bound(picker, sticky) == moved.account_id
    await picker.end_cooldown(bound)  # the old account is back: nothing stale brings the session there
    for _ in range(10):
        assert (await _pick(picker, sticky)).account_id == moved.account_id


async def test_a_full_bound_account_keeps_its_cap_and_the_session_moves(picker: Picker) -> None:
    sticky = _session()
    bound = (await _pick(picker, sticky, keep=True)).account_id  # one of its two slots held
    assert (await _pick(picker, sticky, keep=True)).account_id == bound  # now both
    moved = await _pick(picker, sticky)
    assert moved.sticky == "moved" and moved.account_id != bound


async def test_a_bound_account_that_is_no_candidate_moves_the_session(picker: Picker) -> None:
    """Excluded by a failover, invalid or disabled, or not serving the model: allocation leaves it out
    of the candidates, and the script then binds the session to what it draws."""
    sticky = _session()
    bound = (await _pick(picker, sticky)).account_id
    others = [c for c in ACCOUNTS if c[0] != bound]
    moved = await _pick(picker, sticky, others)
    assert moved.sticky == "moved" and moved.account_id != bound
    assert (await _pick(picker, sticky)).sticky == "hit"
    assert await _bound(picker, sticky) == moved.account_id


async def test_a_record_only_session_is_not_looked_up_but_binds(picker: Picker) -> None:
    recorded = _session(lookup=False)
    seen = Counter([(await _pick(picker, recorded)).account_id for _ in range(60)])
    assert len(seen) == 3, seen  # one-shot calls spread over the pool
    last = await _pick(picker, recorded)
    assert last.sticky == "new"
    follow_up = Sticky(recorded.key, recorded.ttl_ms, lookup=True)
    assert (await _pick(picker, follow_up)).account_id == last.account_id


async def test_a_pick_that_finds_nothing_free_leaves_the_binding_alone(picker: Picker) -> None:
    sticky = _session()
    bound = (await _pick(picker, sticky)).account_id
    await picker.cool_down(bound, 30)
    assert (await _pick(picker, sticky, [c for c in ACCOUNTS if c[0] == bound])).account_id is None
    assert await _bound(picker, sticky) == bound


def test_no_ttl_means_no_sticky_sessions() -> None:
    assert sticky_for("k", "s", lookup=True, ttl_s=0) is None
    assert sticky_for("k", None, lookup=True, ttl_s=60) is None
    assert sticky_for("k", "s", lookup=False, ttl_s=1.5) == Sticky("k:s", 1500, False)


def _pool(api: Api, n: int = 3) -> str:
    """A user's key whose pool of `n` accounts allocation sees."""
    _, key = api.new_user()
    ids = {custom(api, key)["id"] for _ in range(n)}
    wait_until(lambda: {allocate(api, key).json().get("account", {}).get("id") for _ in range(30)} == ids)
    return key


def _account(api: Api, key: str, **extra) -> str:
    answer = allocate(api, key, **extra)
    assert answer.status_code == 200, answer.text
    return answer.json()["account"]["id"]


def test_the_allocation_api_keeps_a_session_on_its_account_and_moves_it_on_failover(api: Api) -> None:
    key = _pool(api)
    session = uuid.uuid4().hex
    bound = _account(api, key, session=session)
    assert {_account(api, key, session=session) for _ in range(20)} == {bound}
    moved = _account(api, key, session=session, exclude=[bound], retry=True)
    assert moved != bound
    assert {_account(api, key, session=session) for _ in range(10)} == {moved}


def test_an_invalid_bound_account_moves_the_session(api: Api) -> None:
    key = _pool(api)
    session = uuid.uuid4().hex
    bound = _account(api, key, session=session)
    publish_usage(api, bound, "credential_rejected", status_code=401)
    wait_until(lambda: _account(api, key, session=session) != bound)
    moved = _account(api, key, session=session)
    assert {_account(api, key, session=session) for _ in range(10)} == {moved}


def test_two_keys_never_share_a_binding(api: Api) -> None:
    key = _pool(api)
    other = api.call("POST", "/keys", key, json={"name": "second"})
    assert other.status_code == 201, other.text
    second = other.json()["key"]
    session = uuid.uuid4().hex
    bound = _account(api, key, session=session)
    seen = {_account(api, second, session=session, session_lookup=False) for _ in range(40)}
    assert len(seen) > 1  # recorded under the second key only
    assert {_account(api, key, session=session) for _ in range(10)} == {bound}


def test_a_bad_session_is_a_400_naming_the_field(api: Api) -> None:
    _, key = api.new_user()
    refused = allocate(api, key, session=["not", "a", "string"])
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "session"
