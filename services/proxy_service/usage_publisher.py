"""Buffered publisher of `usage.recorded` events: the request path never waits for RabbitMQ.

`record()` drops the event into a bounded in-memory queue (when full, the oldest event goes and is
counted). A background task publishes what has accumulated as one confirmed batch message
(`Broker.publish_batch`: one envelope per attempt, one AMQP message per batch); while RabbitMQ is away it
keeps the buffer and retries with backoff, and at shutdown it drains what it can in a few seconds.
Every event is wrapped in its envelope once, as it is recorded, so a retried publish carries the same
message id and consumers drop the duplicate, and the publishing task's turn on the event loop (which
calls in flight wait for) holds only the serialisation and the send.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

from services.proxy_service.metrics import USAGE_BUFFERED, USAGE_DROPPED
from shared.logging import get_logger
from shared.messages import Broker, Envelope
from shared.messages.contracts import UsageRecorded
from shared.metrics import sampled

log = get_logger(__name__)

_BACKOFF_MAX_S = 30.0


class UsagePublisher:
    def __init__(
        self,
        broker: Broker,
        *,
        buffer_size: int,
        batch_size: int = 200,
        linger_s: float = 0.05,
        drain_timeout_s: float = 5.0,
        connect_timeout_s: float = 5.0,
        publish_timeout_s: float = 10.0,
    ) -> None:
        self._broker = broker
        self._queue: asyncio.Queue[Envelope] = asyncio.Queue(buffer_size)
        self._batch_size = batch_size
        self._linger_s = linger_s
        self._drain_timeout_s = drain_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._publish_timeout_s = publish_timeout_s
        self._connected = False
        self._in_flight = 0
        self._task: asyncio.Task[None] | None = None
        sampled(USAGE_BUFFERED, lambda: self._queue.qsize() + self._in_flight)

    def record(self, event: UsageRecorded) -> None:
        queue = self._queue
        if queue.full():
            queue.get_nowait()
            queue.task_done()
            USAGE_DROPPED.inc()
        queue.put_nowait(Envelope.wrap(event, producer=self._broker.producer))

    async def start(self) -> None:
        await self._connect()
        self._task = asyncio.create_task(self._run(), name="usage-publisher")

    async def close(self) -> None:
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), self._drain_timeout_s)
        except TimeoutError:
            log.warning("proxy.usage.undelivered", count=self._queue.qsize() + self._in_flight)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _connect(self, *, quiet: bool = False) -> bool:
        if self._connected:
            return True
        try:
            if self._broker.connection is not None:  # a half-finished earlier attempt
                await self._broker.close()
                self._broker.connection = None
            await asyncio.wait_for(self._broker.connect(), self._connect_timeout_s)
        except Exception as exc:
            if not quiet:
                log.warning("proxy.usage.broker_unavailable", error=exc.__class__.__name__)
            return False
        self._connected = True  # from here aio-pika's robust connection reconnects by itself
        return True

    async def _run(self) -> None:
        queue = self._queue
        while True:
            batch = [await queue.get()]
            # Linger briefly so that even light traffic travels in batches: a message costs the
            # broker client ~300 µs of CPU whatever its size, an event in a batch almost nothing.
            # One sleep per batch, not a timed wait per event (each of those costs a task).
            if queue.qsize() < self._batch_size - 1:
                await asyncio.sleep(self._linger_s)
            while len(batch) < self._batch_size and not queue.empty():
                batch.append(queue.get_nowait())
            self._in_flight = len(batch)
            try:
                await self._publish(batch)
            finally:
                self._in_flight = 0
                for _ in batch:
                    queue.task_done()

    async def _publish(self, envelopes: list[Envelope]) -> None:
        delay = 0.2
        failing = False
        while True:
            if await self._connect(quiet=failing):
                try:
                    await self._broker.publish_batch(envelopes, timeout=self._publish_timeout_s)
                except Exception as exc:
                    if not failing:
                        log.warning(
                            "proxy.usage.publish_failed", error=exc.__class__.__name__, pending=len(envelopes)
                        )
                else:
                    if failing:
                        log.info("proxy.usage.publishing_again")
                    return
            failing = True
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, _BACKOFF_MAX_S)
