"""How much waits in the consumer queues, for `/metrics`: read by a passive declare of each queue
(`topology.py`: the queue, its retry queue and its dead-letter queue), which changes nothing, on a
channel of its own (a queue that does not exist yet closes the channel it was asked on)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiormq.exceptions import ChannelNotFoundEntity
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from shared.messages.broker import Broker
from shared.messages.topology import ConsumerQueue
from shared.metrics import Reading


async def _counts(broker: Broker, names: Sequence[str]) -> dict[str, tuple[int, int] | None]:
    """(messages ready, consumers) of each queue by name; None for one that does not exist."""
    connection = broker.connection
    if connection is None or not broker.is_connected:
        raise ConnectionError("not connected to RabbitMQ")
    found: dict[str, tuple[int, int] | None] = {}
    channel = await connection.channel(publisher_confirms=False)
    try:
        for name in names:
            try:
                queue = await channel.declare_queue(name, passive=True, robust=False)
            except ChannelNotFoundEntity:
                found[name] = None
                channel = await connection.channel(publisher_confirms=False)
                continue
            result = queue.declaration_result
            found[name] = (result.message_count or 0, result.consumer_count or 0)
    finally:
        await channel.close()
    return found


def queue_families(
    queues: Mapping[str, ConsumerQueue], counts: Mapping[str, tuple[int, int] | None]
) -> list[Metric]:
    """The depth metrics of `queues` (by label) from `_counts` of their queue, retry and dead queues."""
    ready = GaugeMetricFamily(
        "poolgate_queue_ready_messages", "Messages waiting in a consumer queue", labels=["queue"]
    )
    retrying = GaugeMetricFamily(
        "poolgate_queue_retry_messages",
        "Messages waiting out their retry delay before going back to the queue",
        labels=["queue"],
    )
    dead = GaugeMetricFamily(
        "poolgate_queue_dead_letter_messages",
        "Messages in a queue's dead-letter queue (poolgate events dead lists and replays them)",
        labels=["queue"],
    )
    consumers_now = GaugeMetricFamily(
        "poolgate_queue_consumers", "Consumers attached to a consumer queue", labels=["queue"]
    )
    for name, queue in queues.items():
        main = counts[queue.name]
        if main is None:  # not declared yet: its consumer never started
            continue
        ready.add_metric([name], main[0])
        consumers_now.add_metric([name], main[1])
        retrying.add_metric([name], (counts[queue.retry] or (0, 0))[0])
        dead.add_metric([name], (counts[queue.dead] or (0, 0))[0])
    return [ready, retrying, dead, consumers_now]


def queue_reading(broker: Broker, consumers: Sequence[str]) -> Reading:
    """The depth of `consumers`' queues (names as in `topology.CONSUMER_QUEUES`, the label too)."""

    async def read() -> list[Metric]:
        queues = {name: broker.queue(name) for name in consumers}
        counts = await _counts(broker, [n for q in queues.values() for n in (q.name, q.retry, q.dead)])
        return queue_families(queues, counts)

    return Reading("queues", read)
