from __future__ import annotations

import asyncio

from services.proxy_service import metrics
from services.proxy_service.usage_publisher import UsagePublisher
from shared.messages.contracts import UsageRecorded


def usage(n: int) -> UsageRecorded:
    return UsageRecorded(
        lease_id=f"lease-{n}",
        account_id="a",
        api_key_id="k",
        user_id="u",
        model="m",
        outcome="success",
        latency_ms=1.0,
    )


class StubBroker:
    """Only the surface the publisher uses; fails the first `failures` publishes."""

    producer = "proxy_service"

    def __init__(self, failures: int = 0, connect_ok: bool = True) -> None:
        self.connection = None
        self.failures = failures
        self.connect_ok = connect_ok
        self.published: list[str] = []

    async def connect(self) -> None:
        if not self.connect_ok:
            raise ConnectionError("rabbitmq down")
        self.connection = object()

    async def close(self) -> None:
        self.connection = None

    async def publish_batch(self, envelopes, **_: object):  # same call shape as Broker.publish_batch
        if self.failures:
            self.failures -= 1
            raise ConnectionError("channel closed")
        self.published.extend(e.data["lease_id"] for e in envelopes)


def test_a_full_buffer_drops_the_oldest_and_counts_it() -> None:
    publisher = UsagePublisher(StubBroker(), buffer_size=3)  # type: ignore[arg-type]
    before = metrics.USAGE_DROPPED._value.get()
    for n in range(5):
        publisher.record(usage(n))
    assert [e.data["lease_id"] for e in publisher._queue._queue] == ["lease-2", "lease-3", "lease-4"]
    assert metrics.USAGE_DROPPED._value.get() - before == 2


async def test_events_are_published_in_order_and_drained_on_close() -> None:
    broker = StubBroker()
    publisher = UsagePublisher(broker, buffer_size=100)  # type: ignore[arg-type]
    await publisher.start()
    for n in range(10):
        publisher.record(usage(n))
    await publisher.close()
    assert broker.published == [f"lease-{n}" for n in range(10)]


async def test_failed_publishes_are_retried_without_losing_or_duplicating_events() -> None:
    broker = StubBroker(failures=3)
    publisher = UsagePublisher(broker, buffer_size=100)  # type: ignore[arg-type]
    await publisher.start()
    for n in range(3):
        publisher.record(usage(n))
    await asyncio.wait_for(publisher._queue.join(), 10)
    await publisher.close()
    assert sorted(broker.published) == ["lease-0", "lease-1", "lease-2"]


async def test_a_broker_down_at_start_does_not_block_and_close_gives_up_in_time() -> None:
    broker = StubBroker(connect_ok=False)
    publisher = UsagePublisher(broker, buffer_size=10, drain_timeout_s=0.2, connect_timeout_s=0.1)  # type: ignore[arg-type]
    await publisher.start()
    publisher.record(usage(1))
    await asyncio.wait_for(publisher.close(), 2)
    assert broker.published == []


async def test_publishing_resumes_once_the_broker_comes_back() -> None:
    broker = StubBroker(connect_ok=False)
    publisher = UsagePublisher(broker, buffer_size=10, connect_timeout_s=0.1)  # type: ignore[arg-type]
    await publisher.start()
    publisher.record(usage(1))
    await asyncio.sleep(0.05)
    broker.connect_ok = True
    await asyncio.wait_for(publisher._queue.join(), 5)
    await publisher.close()
    assert broker.published == ["lease-1"]
