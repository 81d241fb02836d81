"""The allocation rules (cooldowns, caps, weights, lease expiry and renewal), each checked against
both implementations: the Lua script on the real Redis, and the in-process picker allocation falls
back to while Redis is away."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import pytest

from services.account_service.allocation.local import LocalPicker
from services.account_service.allocation.picker import Live, Picker


@pytest.fixture(params=["redis", "local"])
def make(request, redis, infra):
    """A factory of pickers with a given lease TTL, of each implementation in turn."""

    def make(lease_ttl_s: float):
        if request.param == "local":
            return LocalPicker(lease_ttl_s=lease_ttl_s)
        return Picker(
            redis, prefix=f"{infra.redis_prefix}:alloc:{uuid.uuid4().hex[:6]}", lease_ttl_s=lease_ttl_s
        )

    return make


@pytest.fixture
def picker(make):
    return make(600)


def _lease() -> str:
    return uuid.uuid4().hex


async def test_a_cooling_account_is_skipped_and_all_cooling_reports_the_earliest_end(picker):
    await picker.cool_down("a", 30)
    for _ in range(20):
        lease = _lease()
        assert (await picker.pick(lease, [("a", 100, 8), ("b", 100, 8)])).account_id == "b"
        await picker.release([("b", lease)])
    await picker.cool_down("b", 10)
    pick = await picker.pick(_lease(), [("a", 100, 8), ("b", 100, 8)])
    assert pick.account_id is None
    assert pick.cooling_until_ms is not None and pick.full == 0


async def test_a_cooldown_only_grows_and_a_renewed_credential_ends_it(infra, redis):
    picker = Picker(redis, prefix=f"{infra.redis_prefix}:alloc:{uuid.uuid4().hex[:6]}", lease_ttl_s=600)
    await picker.cool_down("a", 60)
    await picker.cool_down("a", 1)  # a shorter one later does not cut the longer one short
    key = f"{picker._prefix}:cooldown:a"
    assert 55_000 < await redis.pttl(key) <= 60_000
    await picker.cool_down("a", 120)
    assert await redis.pttl(key) > 110_000
    await picker.end_cooldown("a")
    assert (await picker.pick(_lease(), [("a", 100, 8)])).account_id == "a"


async def test_concurrency_cap_and_release(picker):
    leases = [_lease(), _lease()]
    for lease in leases:
        assert (await picker.pick(lease, [("a", 100, 2)])).account_id == "a"
    full = await picker.pick(_lease(), [("a", 100, 2)])
    assert (full.account_id, full.full) == (None, 1)
    await picker.release([("a", leases[0])])
    assert (await picker.pick(_lease(), [("a", 100, 2)])).account_id == "a"


async def test_a_shorter_cooldown_does_not_cut_a_longer_one_short(picker):
    await picker.cool_down("a", 60)
    await picker.cool_down("a", 0.05)
    await asyncio.sleep(0.1)
    pick = await picker.pick(_lease(), [("a", 100, 8)])
    assert pick.account_id is None and pick.cooling_until_ms is not None
    await picker.end_cooldown("a")
    assert (await picker.pick(_lease(), [("a", 100, 8)])).account_id == "a"


async def test_a_lease_of_a_crashed_caller_expires(make):
    short = make(0.3)
    assert (await short.pick(_lease(), [("a", 100, 1)])).account_id == "a"
    assert (await short.pick(_lease(), [("a", 100, 1)])).account_id is None  # never released
    await asyncio.sleep(0.4)
    assert (await short.pick(_lease(), [("a", 100, 1)])).account_id == "a"


async def test_choice_follows_weight(picker):
    picks = Counter()
    for _ in range(600):
        lease = _lease()
        chosen = (await picker.pick(lease, [("heavy", 300, 1000), ("light", 100, 1000)])).account_id
        picks[chosen] += 1
        await picker.release([(chosen, lease)])
    assert 0.65 < picks["heavy"] / 600 < 0.85  # expected 0.75
    assert picks["light"] > 0


async def test_a_pick_carries_releases_that_free_slots_before_it_chooses(picker):
    held = _lease()
    assert (await picker.pick(held, [("a", 100, 1)])).account_id == "a"
    assert (await picker.pick(_lease(), [("a", 100, 1)])).account_id is None  # full
    assert (await picker.pick(_lease(), [("a", 100, 1)], release=[("a", held)])).account_id == "a"


async def test_running_leases_are_renewed_and_released_ones_stay_gone(make):
    short = make(0.3)
    running, done = _lease(), _lease()
    assert (await short.pick(running, [("a", 100, 2)])).account_id == "a"
    assert (await short.pick(done, [("a", 100, 2)])).account_id == "a"
    assert await short.settle(release=[("a", done)], renew=[("a", running)]) == 1
    for _ in range(3):  # renewed past three TTLs: still holding its slot
        await asyncio.sleep(0.2)
        assert await short.settle(renew=[("a", running)]) == 1
    assert (await short.pick(_lease(), [("a", 100, 2)])).account_id == "a"  # the released slot
    assert (await short.pick(_lease(), [("a", 100, 2)])).account_id is None
    await asyncio.sleep(0.4)  # not renewed: expired, and not brought back by a late renewal
    assert await short.settle(renew=[("a", running)]) == 0


async def test_picking_survives_a_flushed_script_cache(infra, redis):
    picker = Picker(redis, prefix=f"{infra.redis_prefix}:alloc:{uuid.uuid4().hex[:6]}", lease_ttl_s=600)
    await redis.script_flush()
    assert (await picker.pick(_lease(), [("a", 100, 8)])).account_id == "a"


async def test_live_shows_calls_in_flight_and_cooldown_ends(picker):
    held, done = _lease(), _lease()
    for lease in (held, done):
        assert (await picker.pick(lease, [("a", 100, 4)])).account_id == "a"
    await picker.release([("a", done)])
    before_ms = time.time() * 1000
    await picker.cool_down("b", 30)
    await picker.cool_down("c", 0.05)
    await asyncio.sleep(0.1)  # c's cooldown is over

    live = await picker.live(["a", "b", "c", "never-seen"])

    assert live["a"] == Live(inflight=1, cooling_until_ms=None)
    assert live["b"].inflight == 0
    assert before_ms + 29_000 < live["b"].cooling_until_ms <= time.time() * 1000 + 30_000
    assert live["b"].cooling_until is not None
    assert live["c"] == Live() and live["never-seen"] == Live()
    assert await picker.live([]) == {}


async def test_live_neither_counts_nor_changes_what_allocation_sees(make):
    short = make(0.3)
    assert (await short.pick(_lease(), [("a", 100, 1)])).account_id == "a"
    await asyncio.sleep(0.4)  # the lease expired (its caller crashed)
    assert (await short.live(["a"]))["a"].inflight == 0
    await short.cool_down("a", 30)
    await short.live(["a"])
    assert (await short.pick(_lease(), [("a", 100, 1)])).cooling_until_ms is not None
