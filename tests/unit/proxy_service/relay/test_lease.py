"""The proxy's leases: released without a round trip of their own under traffic, sent by themselves
when traffic stops, kept while account_service is away, renewed while their attempts run."""

from __future__ import annotations

import asyncio

from services.proxy_service.relay.lease import Leases
from shared.errors import UpstreamError
from tests.unit.proxy_service.relay._fakes import FakeInternal


class FlakyInternal(FakeInternal):
    """account_service that is away for its first `failures` lease calls."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.renewed: list[list[tuple[str, str]]] = []

    async def settle_leases(self, *, release=None, renew=None) -> int:
        if self.failures:
            self.failures -= 1
            raise UpstreamError("account_service unreachable", status_code=503)
        if renew:
            self.renewed.append(list(renew))
        return await super().settle_leases(release=release, renew=renew)


async def wait_for(predicate, timeout_s: float = 2.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.005)


async def test_a_release_is_carried_by_one_allocation_then_forgotten() -> None:
    leases = Leases(FakeInternal())
    leases.hold("a", "l1")
    leases.hold("a", "l2")
    assert leases.held == 2 and leases.carry() == []
    leases.release("a", "l1")
    assert leases.held == 1
    carried = leases.carry()
    assert carried == [("a", "l1")]
    assert leases.carry() == []  # a concurrent allocation does not carry it again
    leases.carried(carried, applied=True)
    assert leases.waiting == []


async def test_a_release_whose_allocation_failed_waits_again() -> None:
    leases = Leases(FakeInternal())
    leases.hold("a", "l1")
    leases.release("a", "l1")
    carried = leases.carry()
    assert leases.waiting == []
    leases.carried(carried, applied=False)
    assert leases.waiting == [("a", "l1")]


async def test_releases_no_allocation_carried_are_sent_in_one_batch() -> None:
    internal = FakeInternal()
    leases = Leases(internal, linger_s=0.01)
    await leases.start()
    try:
        for i in range(3):
            leases.hold("a", f"l{i}")
            leases.release("a", f"l{i}")
        await wait_for(lambda: not leases.waiting)
        assert sorted(internal.released) == [("a", "l0"), ("a", "l1"), ("a", "l2")]
    finally:
        await leases.close()


async def test_releases_wait_while_account_service_is_away_and_go_when_it_is_back() -> None:
    internal = FlakyInternal(failures=3)
    leases = Leases(internal, linger_s=0.001)
    await leases.start()
    try:
        leases.hold("a", "l1")
        leases.release("a", "l1")
        await wait_for(lambda: internal.released == [("a", "l1")])
        assert internal.failures == 0 and leases.waiting == []
    finally:
        await leases.close()


async def test_running_leases_are_renewed_and_finished_ones_are_not() -> None:
    internal = FlakyInternal(failures=0)
    leases = Leases(internal, renew_every_s=0.02)
    leases.hold("a", "running")
    leases.hold("b", "done")
    leases.release("b", "done")
    await leases.start()
    try:
        await wait_for(lambda: len(internal.renewed) >= 2)
        assert all(batch == [("a", "running")] for batch in internal.renewed)
    finally:
        await leases.close()


async def test_close_sends_the_last_releases() -> None:
    internal = FakeInternal()
    leases = Leases(internal, linger_s=10.0)  # the flusher would wait; close must not
    await leases.start()
    leases.hold("a", "l1")
    leases.release("a", "l1")
    await leases.close()
    assert internal.released == [("a", "l1")]


async def test_a_refused_allocation_is_worth_a_retry_only_while_a_release_was_on_its_way() -> None:
    leases = Leases(FakeInternal())
    assert not await leases.landed()  # nothing released: the refusal stands

    leases.hold("acc", "l1")
    leases.release("acc", "l1")
    assert await leases.landed()  # waiting: the next try carries it

    carried = leases.carry()  # now on its way in another allocation
    assert carried == [("acc", "l1")] and leases.waiting == []
    waiter = asyncio.create_task(leases.landed(timeout_s=5))
    await asyncio.sleep(0.01)
    assert not waiter.done()  # waits for that allocation to end
    leases.carried(carried, applied=True)
    assert await waiter
    assert not await leases.landed()  # landed: nothing left on its way
