"""Live health in Redis as people read it (the console's pool page): each account's recent success
rate and its server errors in a row, for many accounts in one round trip."""

from __future__ import annotations

import uuid

import pytest

from services.account_service.allocation.health import ALPHA, Health, Recent


@pytest.fixture
def health(redis, infra) -> Health:
    return Health(redis, prefix=f"{infra.redis_prefix}:alloc:{uuid.uuid4().hex[:6]}")


async def test_recent_outcomes_are_the_success_rate_and_server_errors_in_a_row(health):
    await health.record([("a", True, False), ("a", False, True), ("a", False, True), ("b", True, False)])

    recent = await health.recent(["a", "b", "never-called"])

    assert recent["a"].rate == pytest.approx((1 - ALPHA) ** 2)
    assert recent["a"].server_errors == 2
    assert recent["b"] == Recent(rate=1.0, server_errors=0)
    assert recent["never-called"] == Recent()
    assert await health.recent([]) == {}


async def test_a_success_ends_the_run_of_server_errors(health):
    await health.record([("a", False, True), ("a", False, True), ("a", True, False)])
    assert (await health.recent(["a"]))["a"].server_errors == 0
    await health.forget("a")
    assert (await health.recent(["a"]))["a"] == Recent()
