"""The key's limits in the pick script and the token counter, on the real Redis: what only the script
can show (a crashed proxy's slot expiring with its lease, the sliding minute, a day's count)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest

from services.account_service.allocation.picker import Picker
from services.account_service.keys.limits import Gate
from services.account_service.keys.tokens import KeyTokens

TODAY = date(2026, 12, 4)


@pytest.fixture
def prefix(infra) -> str:
    return f"{infra.redis_prefix}:alloc:{uuid.uuid4().hex[:6]}"


def _gate(key_id: str, *, check: bool = True, rpm=None, concurrency=None, tokens=None) -> Gate:
    return Gate(key_id, check, rpm, concurrency, tokens, TODAY)


async def _pick(picker: Picker, gate: Gate, **kwargs):
    lease = gate.lease_id(uuid.uuid4().hex)
    return lease, await picker.pick(lease, [("a", 100, 1000)], gate=gate, **kwargs)


async def test_a_keys_slot_expires_with_its_lease_and_is_kept_by_renewal(redis, prefix) -> None:
    picker = Picker(redis, prefix=prefix, lease_ttl_s=1.0)
    gate = _gate("k1", concurrency=2)
    running, first = await _pick(picker, gate)
    _, second = await _pick(picker, gate)
    assert first.account_id == second.account_id == "a"
    _, third = await _pick(picker, gate)
    assert (third.account_id, third.refused) == (None, "concurrency")
    await asyncio.sleep(0.6)
    assert await picker.settle(renew=[("a", running)]) == 1
    await asyncio.sleep(0.6)  # the other lease's proxy died: it expired; the renewed one holds
    _, fourth = await _pick(picker, gate)
    assert fourth.account_id == "a"
    _, fifth = await _pick(picker, gate)
    assert fifth.refused == "concurrency"


async def test_a_retry_is_not_refused_but_holds_a_slot(redis, prefix) -> None:
    picker = Picker(redis, prefix=prefix, lease_ttl_s=60)
    gate = _gate("k2", concurrency=1, rpm=1)
    first, pick = await _pick(picker, gate)
    assert pick.account_id == "a"
    retry, pick = await _pick(picker, _gate("k2", check=False, concurrency=1, rpm=1), release=[("a", first)])
    assert pick.account_id == "a"
    _, pick = await _pick(picker, gate)
    assert pick.refused == "concurrency"  # the retry's lease holds the key's one slot
    await picker.settle(release=[("a", retry)])
    _, pick = await _pick(picker, gate)
    assert pick.refused == "requests_per_minute"  # one call in the minute, its retry not counted again
    assert 59_000 <= pick.retry_after_ms <= 60_000


async def test_limits_of_one_key_leave_another_alone(redis, prefix) -> None:
    picker = Picker(redis, prefix=prefix, lease_ttl_s=60)
    assert (await _pick(picker, _gate("k3", rpm=1)))[1].account_id == "a"
    assert (await _pick(picker, _gate("k3", rpm=1)))[1].refused == "requests_per_minute"
    assert (await _pick(picker, _gate("k4", rpm=1)))[1].account_id == "a"


async def test_tokens_count_per_key_and_day_and_reaching_is_said_once(redis, prefix) -> None:
    tokens = KeyTokens(redis, prefix=prefix)
    picker = Picker(redis, prefix=prefix, lease_ttl_s=60)
    yesterday = date(2026, 12, 3)
    assert await tokens.add({("k5", TODAY): (60, 100), ("k5", yesterday): (500, 100)}) == [("k5", yesterday)]
    assert (await _pick(picker, _gate("k5", tokens=100)))[1].account_id == "a"
    assert await tokens.add({("k5", TODAY): (40, 100)}) == [("k5", TODAY)]
    refused = (await _pick(picker, _gate("k5", tokens=100)))[1]
    assert (refused.refused, refused.retry_after_ms) == ("tokens_per_day", None)
    assert await tokens.add({("k5", TODAY): (40, 100)}) == []  # still over: not said again
    assert await tokens.used("k5", TODAY) == 140
    assert await tokens.add({("k6", TODAY): (10**6, None)}) == []  # no limit: counted only
