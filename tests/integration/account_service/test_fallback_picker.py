"""Allocation with Redis cut away (a TCP forwarder in front of the real Redis): it carries on from
in-process state, says so in the gauge, and returns to the shared state once Redis answers again."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit

import pytest
from prometheus_client import REGISTRY
from redis.exceptions import ResponseError

from services.account_service.allocation.fallback import FallbackPicker
from services.account_service.allocation.local import LocalPicker
from services.account_service.allocation.picker import Picker
from shared.settings import BaseServiceSettings
from tests.support.tcp_proxy import CuttableProxy


def _degraded() -> float:
    return REGISTRY.get_sample_value("poolgate_allocation_degraded")


@pytest.fixture
async def cuttable(infra):
    target = urlsplit(infra.redis_url)
    proxy = CuttableProxy(target.hostname, target.port or 6379)
    await proxy.start()
    yield proxy
    await proxy.close()


@pytest.fixture
async def fallback(cuttable, infra):
    settings = BaseServiceSettings(redis_url=f"redis://127.0.0.1:{cuttable.port}/0")
    redis = settings.redis()
    shared = Picker(redis, prefix=f"{infra.redis_prefix}:alloc:{uuid.uuid4().hex[:6]}", lease_ttl_s=60)
    picker = FallbackPicker(shared, LocalPicker(lease_ttl_s=60), ping=redis.ping, probe_interval_s=0.1)
    yield picker, shared
    await picker.close()
    await redis.aclose()


def _lease() -> str:
    return uuid.uuid4().hex


async def test_allocation_goes_on_without_redis_and_returns_to_shared_state(fallback, cuttable):
    picker, shared = fallback
    before = _lease()
    assert (await picker.pick(before, [("a", 100, 2)])).account_id == "a"
    assert not picker.degraded and _degraded() == 0
    await picker.cool_down("b", 60)  # learnt while Redis was there: remembered locally too

    await cuttable.cut()
    during = _lease()
    pick = await picker.pick(during, [("a", 100, 2), ("b", 100, 2)])
    assert pick.account_id == "a", "b is still cooling, from memory"
    assert picker.degraded and _degraded() == 1
    # The in-process cap holds: one lease taken here (the one from before lives in Redis only).
    assert (await picker.pick(_lease(), [("a", 100, 2)])).account_id == "a"
    assert (await picker.pick(_lease(), [("a", 100, 2)])).account_id is None
    await picker.settle(release=[("a", during)])
    assert (await picker.pick(_lease(), [("a", 100, 2)])).account_id == "a"
    await picker.cool_down("a", 30)
    assert (await picker.pick(_lease(), [("a", 100, 2)])).cooling_until_ms is not None

    await cuttable.restore()
    for _ in range(50):
        if not picker.degraded:
            break
        await asyncio.sleep(0.1)
    assert not picker.degraded and _degraded() == 0
    # Shared state again: the lease taken before the cut still holds one of a's two slots in Redis.
    await picker.end_cooldown("a")
    assert (await picker.pick(_lease(), [("c", 100, 1)])).account_id == "c"
    assert (await shared.pick(_lease(), [("a", 100, 2)])).account_id == "a"
    assert (await picker.pick(_lease(), [("a", 100, 2)])).account_id is None


async def test_an_error_that_is_not_an_outage_is_not_hidden(fallback):
    picker, _ = fallback
    with pytest.raises(ResponseError, match="user_script"):
        await picker.pick(_lease(), [("a", "not-a-weight", 2)])
    assert not picker.degraded


async def test_the_live_state_comes_from_memory_while_redis_is_away(fallback, cuttable):
    picker, _ = fallback
    assert (await picker.pick(_lease(), [("a", 100, 2)])).account_id == "a"
    await picker.cool_down("b", 60)
    assert (await picker.live(["a"]))["a"].inflight == 1, "the shared count"

    await cuttable.cut()
    during = await picker.live(["a", "b"])
    assert picker.degraded
    assert during["b"].cooling_until_ms is not None, "a cooldown learnt before the cut"
    assert during["a"].inflight == 0, "the lease taken before the cut lives in Redis only"

    await cuttable.restore()
    for _ in range(50):
        if not picker.degraded:
            break
        await asyncio.sleep(0.1)
    assert (await picker.live(["a"]))["a"].inflight == 1
