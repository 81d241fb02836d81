"""RabbitMQ topology, declared in one place.

* One durable topic exchange (`poolgate.events` by default), routing key = message type.
* Each consumer has a durable queue `<prefix>.<consumer>`, a retry queue `<queue>.retry` whose
  messages wait `retry_delay` and then dead-letter straight back into the main queue, and a
  dead-letter queue `<queue>.dead` for messages that are malformed or out of attempts.
* Replica-local views (each account_service's index) use an exclusive, auto-deleted queue.

`CONSUMER_QUEUES` names every durable consumer queue (without the deployment's queue prefix), so
that tools such as `poolgate events dead` find them without importing the services.
"""

from __future__ import annotations

from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

USAGE_QUEUE = "account_service.usage"
REFRESH_QUEUE = "refresh_worker.accounts"
# Dreamina's triggers on a queue of their own: a browser login takes tens of seconds and must not
# hold up Kiro refreshes.
DREAMINA_QUEUE = "refresh_worker.dreamina"
# Probes (one cheap health check per account) on a queue of their own: never behind a login.
PROBE_QUEUE = "refresh_worker.probes"
# Alerts for webhooks (services/account_service/webhooks/alerts.py).
ALERTS_QUEUE = "account_service.alerts"
CONSUMER_QUEUES = (USAGE_QUEUE, REFRESH_QUEUE, DREAMINA_QUEUE, PROBE_QUEUE, ALERTS_QUEUE)


@dataclass(frozen=True)
class ConsumerQueue:
    name: str

    @property
    def retry(self) -> str:
        return f"{self.name}.retry"

    @property
    def dead(self) -> str:
        return f"{self.name}.dead"


async def declare_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)


async def declare_consumer_queue(
    channel: AbstractChannel,
    exchange: AbstractExchange,
    queue: ConsumerQueue,
    bindings: list[str],
    *,
    retry_delay_ms: int,
) -> AbstractQueue:
    await channel.declare_queue(queue.dead, durable=True)
    await channel.declare_queue(
        queue.retry,
        durable=True,
        arguments={
            "x-message-ttl": retry_delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue.name,
        },
    )
    main = await channel.declare_queue(
        queue.name,
        durable=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue.dead},
    )
    for key in bindings:
        await main.bind(exchange, routing_key=key)
    return main


async def declare_replica_queue(
    channel: AbstractChannel, exchange: AbstractExchange, bindings: list[str]
) -> AbstractQueue:
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    for key in bindings:
        await queue.bind(exchange, routing_key=key)
    return queue
