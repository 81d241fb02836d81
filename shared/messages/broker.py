"""One RabbitMQ connection per process: publishing with confirms, and the consumer wrapper.

Publishing awaits the broker's confirm, so "published" means the broker has the message.
High-volume producers (the proxy's usage events) may send many envelopes of one type in one AMQP
message (`publish_batch`): each envelope keeps its own id and meaning, and consumers unpack batches
transparently, but the broker round trip and the client library's per-message cost (≈300 µs CPU in
aio-pika, measured) are paid once per batch instead of once per event.

Consuming goes through `Broker.consume`, which states its acknowledgement policy: a handler that
succeeds acks; one that fails because a dependency is unreachable (PostgreSQL, Redis, the internal API:
`shared/outages.py`) keeps its messages unacked and tries them again in place, with capped exponential
backoff, for as long as it takes: consumption of that queue pauses (prefetch bounds what is held), the
broker still holds every message if the process dies meanwhile, and nothing is dead-lettered because a
server was restarting. Any other failure is retried through the delayed retry queue up to
`max_attempts`, then dead-lettered (`poolgate events dead` lists and replays those); a malformed
message is dead-lettered at once. Redelivered ids that were already processed are acked without
calling the handler again (marks in Redis), unless the consumer keeps its own record: a batch
handler that claims each message id in the transaction that applies it (the usage consumer's inbox)
passes `idempotent=True` and spares Redis a read and a write per envelope. A consumer that must
answer for a message it gave up on (e.g. announce a final failure) passes `on_dead_letter`, called
once per envelope after it reached the dead-letter queue because it ran out of attempts.

Stopping (`stop_consuming`, also the first step of `close`) cancels every consumer, so the broker
sends nothing more, lets the messages already received be handled and acked (a batch still waiting
for its window is handled at once), for up to `drain_timeout_s`, and only then may the connection
close: a deploy's SIGTERM loses nothing and redelivers nothing that was handled. A handler still
running at the deadline loses its channel; the broker redelivers its messages to another consumer,
where the processed marks (or the consumer's own inbox) make the second delivery harmless.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from redis.asyncio import Redis

from shared.logging import get_logger, set_correlation_id
from shared.messages.contracts import Event
from shared.messages.envelope import Envelope, MalformedMessage
from shared.messages.topology import (
    ConsumerQueue,
    declare_consumer_queue,
    declare_exchange,
    declare_replica_queue,
)
from shared.outages import is_unavailable

log = get_logger(__name__)

Handler = Callable[[Envelope], Awaitable[None]]
BatchHandler = Callable[[list["Delivery"]], Awaitable[None]]
# Called with each envelope of a message dead-lettered after its last attempt, and the last error.
DeadLetterHandler = Callable[[Envelope, Exception], Awaitable[None]]

# Headers of a message the consumer wrapper moved to a retry or dead-letter queue (not x-death:
# it copies the message there itself, so that the attempt count travels with it).
ATTEMPT_HEADER = "x-poolgate-attempt"
ERROR_HEADER = "x-poolgate-error"
DEAD_LETTERED_AT_HEADER = "x-poolgate-dead-lettered-at"
# A message whose body is a JSON array of envelopes of one type (see Broker.publish_batch).
BATCH_CONTENT_TYPE = "application/vnd.poolgate.batch+json"
_PROCESSED_TTL_S = 24 * 3600
_WAIT_FIRST_S = 0.5
_WAIT_MAX_S = 30.0
# How soon a dropped connection is tried again (aio-pika's default is 5 s).
_RECONNECT_INTERVAL_S = 1.0


def wait_delays(first_s: float = _WAIT_FIRST_S, cap_s: float = _WAIT_MAX_S) -> Iterator[float]:
    """Capped exponential backoff with ±20% jitter, so replicas do not retry in step."""
    delay = first_s
    while True:
        yield delay * random.uniform(0.8, 1.2)
        delay = min(delay * 2, cap_s)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One AMQP message's envelopes (several for a batch message). `message_id` names the message:
    a redelivery, or a producer's retry of an unconfirmed batch, carries the same id and the same
    envelopes, so a consumer that must apply each message once records these ids."""

    message_id: str
    envelopes: list[Envelope]


@dataclass(frozen=True)
class AckPolicy:
    max_attempts: int = 5  # for failures of the work itself; waiting for a dependency uses none
    retry_delay_ms: int = 2000
    wait_first_s: float = _WAIT_FIRST_S  # waiting for a dependency: first delay, doubling to the cap
    wait_max_s: float = _WAIT_MAX_S


def _message(envelope: Envelope, body: bytes, headers: dict | None = None) -> aio_pika.Message:
    return aio_pika.Message(
        body,
        message_id=envelope.id,
        correlation_id=envelope.correlation_id,
        type=envelope.type,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        headers=headers or {},
    )


class Broker:
    def __init__(
        self,
        *,
        amqp_url: str,
        exchange: str,
        queue_prefix: str,
        producer: str,
        redis: Redis | None = None,
        redis_prefix: str = "poolgate",
        drain_timeout_s: float = 30.0,
    ) -> None:
        self._url = amqp_url
        self._exchange_name = exchange
        self._queue_prefix = queue_prefix
        self.producer = producer
        self._redis = redis
        self._redis_prefix = redis_prefix
        self.connection: AbstractRobustConnection | None = None
        self._exchange = None
        self._channels: list = []
        self._drain_timeout_s = drain_timeout_s
        self._consumers: list[tuple[aio_pika.abc.AbstractQueue, str]] = []
        self._batchers: list[_Batcher] = []
        self._handling: set[asyncio.Task] = set()  # message callbacks running now
        self._stopped = False

    async def connect(self) -> None:
        self.connection = await aio_pika.connect_robust(
            self._url,
            client_properties={"connection_name": self.producer},
            reconnect_interval=_RECONNECT_INTERVAL_S,
        )
        channel = await self.connection.channel(publisher_confirms=True)
        self._channels.append(channel)
        self._exchange = await declare_exchange(channel, self._exchange_name)

    async def close(self) -> None:
        await self.stop_consuming()
        if self.connection is not None:
            await self.connection.close()

    async def stop_consuming(self) -> None:
        """Take no more messages; wait (up to the drain timeout) for the ones received to be handled
        and acked. Idempotent; a process's shutdown calls it before closing what handlers use."""
        if self._stopped:
            return
        self._stopped = True
        for queue, tag in self._consumers:
            try:
                await queue.cancel(tag)
            except Exception as exc:  # a lost channel: the broker requeues its unacked messages
                log.warning("events.cancel_failed", queue=queue.name, error=repr(exc))
        # A delivery read just before the cancel was answered has its callback task created but not
        # yet started: one turn of the loop lets it start and register itself.
        await asyncio.sleep(0)
        work = [*self._handling, *(asyncio.ensure_future(b.flush()) for b in self._batchers)]
        if not work:
            return
        _, running = await asyncio.wait(work, timeout=self._drain_timeout_s)
        if running:
            log.warning("events.drain_timeout", running=len(running), timeout_s=self._drain_timeout_s)
        else:
            log.info("events.drained", handled=len(work))

    def _tracked(self, callback: Callable[[AbstractIncomingMessage], Awaitable[None]]):
        """`callback`, with its task known to `stop_consuming` while it runs."""

        async def on_message(message: AbstractIncomingMessage) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._handling.add(task)
            try:
                await callback(message)
            finally:
                self._handling.discard(task)

        return on_message

    @property
    def is_connected(self) -> bool:
        return (
            self.connection is not None
            and not self.connection.is_closed
            and self.connection.connected.is_set()
        )

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` each time the connection is back, after its channels, queues and consumers
        were restored (a replica's exclusive queue is new then: what was published before it existed
        never reached it)."""

        async def run(_connection) -> None:
            await callback()

        self.connection.reconnect_callbacks.add(run)

    def queue(self, consumer: str) -> ConsumerQueue:
        return ConsumerQueue(f"{self._queue_prefix}.{consumer}")

    # -- publishing ---------------------------------------------------------------------------

    def envelope(self, event: Event) -> Envelope:
        return Envelope.wrap(event, producer=self.producer)

    async def publish(self, event: Event | Envelope, *, timeout: float = 10.0) -> Envelope:
        envelope = event if isinstance(event, Envelope) else self.envelope(event)
        await self._exchange.publish(
            _message(envelope, envelope.to_bytes()), routing_key=envelope.type, timeout=timeout
        )
        return envelope

    async def publish_batch(self, envelopes: Sequence[Envelope], *, timeout: float = 10.0) -> None:
        """Publish envelopes of one type as a single confirmed message."""
        if len(envelopes) == 1:
            await self.publish(envelopes[0], timeout=timeout)
            return
        first = envelopes[0]
        if any(e.type != first.type for e in envelopes):
            raise ValueError("a batch holds envelopes of one type")
        body = Envelope.batch_bytes(list(envelopes))
        message = aio_pika.Message(
            body,
            message_id=f"batch-{first.id}",
            correlation_id=first.correlation_id,
            type=first.type,
            content_type=BATCH_CONTENT_TYPE,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._exchange.publish(message, routing_key=first.type, timeout=timeout)

    async def publish_many(self, envelopes: Sequence[Envelope], *, timeout: float = 10.0) -> None:
        """Publish and wait for every confirm; confirms are pipelined, not one round trip each."""
        await asyncio.gather(*(self.publish(e, timeout=timeout) for e in envelopes))

    # -- consuming ----------------------------------------------------------------------------

    async def consume(
        self,
        consumer: str,
        bindings: list[str],
        handler: Handler,
        *,
        policy: AckPolicy = AckPolicy(),
        prefetch: int = 32,
        on_dead_letter: DeadLetterHandler | None = None,
    ) -> None:
        async def handle_batch(deliveries: list[Delivery]) -> None:
            for delivery in deliveries:
                for envelope in delivery.envelopes:
                    set_correlation_id(envelope.correlation_id)
                    await handler(envelope)

        await self.consume_batches(
            consumer,
            bindings,
            handle_batch,
            policy=policy,
            batch_size=1,
            prefetch=prefetch,
            on_dead_letter=on_dead_letter,
        )

    async def consume_batches(
        self,
        consumer: str,
        bindings: list[str],
        handler: BatchHandler,
        *,
        policy: AckPolicy = AckPolicy(),
        batch_size: int = 200,
        batch_window_s: float = 0.2,
        prefetch: int | None = None,
        on_dead_letter: DeadLetterHandler | None = None,
        idempotent: bool = False,
    ) -> None:
        channel = await self.connection.channel()
        self._channels.append(channel)
        await channel.set_qos(prefetch_count=prefetch or max(batch_size * 2, 1))
        exchange = await declare_exchange(channel, self._exchange_name)
        queue = self.queue(consumer)
        main = await declare_consumer_queue(
            channel, exchange, queue, bindings, retry_delay_ms=policy.retry_delay_ms
        )
        batcher = _Batcher(
            channel=channel,
            queue=queue,
            handler=handler,
            policy=policy,
            batch_size=batch_size,
            window_s=batch_window_s,
            redis=None if idempotent else self._redis,
            processed_prefix=f"{self._redis_prefix}:processed:{queue.name}",
            on_dead_letter=on_dead_letter,
        )
        self._batchers.append(batcher)
        self._consumers.append((main, await main.consume(self._tracked(batcher.add))))

    async def subscribe_replica(self, bindings: list[str], handler: Handler) -> None:
        """A replica-local view: every replica gets every matching message. A handler that fails
        because a dependency is unreachable tries again until it is back; any other failure is logged
        and the message dropped (the view reloads what it needs on the next event for that id)."""
        channel = await self.connection.channel()
        self._channels.append(channel)
        exchange = await declare_exchange(channel, self._exchange_name)
        queue = await declare_replica_queue(channel, exchange, bindings)

        async def on_message(message: AbstractIncomingMessage) -> None:
            async with message.process(ignore_processed=True):
                try:
                    envelopes = _unpack(message)
                except MalformedMessage:
                    log.warning("events.replica.malformed", message_id=message.message_id)
                    return
                for envelope in envelopes:
                    await _until_available(handler, envelope, queue=queue.name)

        self._consumers.append((queue, await queue.consume(self._tracked(on_message))))


async def _until_available(handler: Handler, envelope: Envelope, *, queue: str) -> None:
    delays = wait_delays()
    while True:
        try:
            await handler(envelope)
            return
        except Exception as exc:
            if not is_unavailable(exc):
                log.error("events.replica.handler_failed", queue=queue, type=envelope.type, error=repr(exc))
                return
            delay = next(delays)
            log.warning(
                "events.dependency_unavailable", queue=queue, error=repr(exc), retry_in_s=round(delay, 1)
            )
            await asyncio.sleep(delay)


def _unpack(message: AbstractIncomingMessage) -> list[Envelope]:
    return Envelope.many_from_bytes(message.body, batch=message.content_type == BATCH_CONTENT_TYPE)


class _Batcher:
    def __init__(
        self,
        *,
        channel,
        queue,
        handler,
        policy,
        batch_size,
        window_s,
        redis,
        processed_prefix,
        on_dead_letter: DeadLetterHandler | None = None,
    ) -> None:
        self._channel = channel
        self._queue = queue
        self._handler = handler
        self._policy = policy
        self._size = batch_size
        self._window = window_s
        self._redis = redis
        self._processed_prefix = processed_prefix
        self._on_dead_letter = on_dead_letter
        self._pending: list[AbstractIncomingMessage] = []
        self._timer: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()

    async def add(self, message: AbstractIncomingMessage) -> None:
        self._pending.append(message)
        if len(self._pending) >= self._size:
            await self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(
                self._window, lambda: asyncio.ensure_future(self._flush())
            )

    async def flush(self) -> None:
        """Handle what is pending now (a stopping consumer does not wait for the batch window); once
        it returns, no batch is being handled (the lock is taken in turn)."""
        await self._flush()

    async def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        async with self._lock:
            batch, self._pending = self._pending, []
            if batch:
                await self._process(batch)

    async def _process(self, batch: list[AbstractIncomingMessage]) -> None:
        unpacked: list[tuple[AbstractIncomingMessage, list[Envelope]]] = []
        for message in batch:
            try:
                unpacked.append((message, _unpack(message)))
            except MalformedMessage as exc:
                log.warning("events.dead_lettered", queue=self._queue.name, reason=str(exc))
                await message.reject(requeue=False)
        if not unpacked:
            return
        deliveries = [
            Delivery(message.message_id or f"envelope-{each[0].id}", each)
            for message, each in unpacked
            if each
        ]
        envelopes = [e for _, each in unpacked for e in each]
        delays = wait_delays(self._policy.wait_first_s, self._policy.wait_max_s)
        while True:
            try:
                await self._deliver(deliveries)
                break
            except MalformedMessage as exc:
                for message, _ in unpacked:
                    log.warning("events.dead_lettered", queue=self._queue.name, reason=str(exc))
                    await message.reject(requeue=False)
                return
            except Exception as exc:
                if not is_unavailable(exc):
                    log.warning(
                        "events.handler_failed", queue=self._queue.name, error=repr(exc), count=len(envelopes)
                    )
                    for message, each in unpacked:
                        await self._retry_or_dead_letter(message, each, exc)
                    return
                if self._channel.is_closed:  # the broker redelivers them once the channel is back
                    return
                delay = next(delays)
                log.warning(
                    "events.dependency_unavailable",
                    queue=self._queue.name,
                    error=repr(exc),
                    count=len(envelopes),
                    retry_in_s=round(delay, 1),
                )
                await asyncio.sleep(delay)
        for message, _ in unpacked:
            await message.ack()

    async def _deliver(self, deliveries: list[Delivery]) -> None:
        fresh = {e.id for e in await self._skip_processed([e for d in deliveries for e in d.envelopes])}
        todo = [Delivery(d.message_id, [e for e in d.envelopes if e.id in fresh]) for d in deliveries]
        todo = [d for d in todo if d.envelopes]
        if todo:
            await self._handler(todo)
            await self._mark_processed([e.id for d in todo for e in d.envelopes])

    async def _skip_processed(self, envelopes: list[Envelope]) -> list[Envelope]:
        """The envelopes not processed before (a redelivery after a crash, or a republished batch).
        The marks are a best effort: with Redis away every envelope counts as fresh, and a consumer
        that must count exactly once keeps its own record in its transaction (the usage consumer)."""
        if self._redis is None or not envelopes:
            return envelopes
        try:
            seen = await self._redis.mget([f"{self._processed_prefix}:{e.id}" for e in envelopes])
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            return envelopes
        return [envelope for envelope, mark in zip(envelopes, seen, strict=True) if mark is None]

    async def _mark_processed(self, ids: list[str]) -> None:
        if self._redis is None:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for message_id in ids:
                    pipe.set(f"{self._processed_prefix}:{message_id}", 1, ex=_PROCESSED_TTL_S)
                await pipe.execute()
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            log.warning("events.processed_marks_skipped", queue=self._queue.name, error=repr(exc))

    async def _retry_or_dead_letter(self, message, envelopes: list[Envelope], exc: Exception) -> None:
        envelope = envelopes[0]
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 1))
        if attempt < self._policy.max_attempts:
            target, headers = self._queue.retry, {ATTEMPT_HEADER: attempt + 1}
        else:
            target, headers = (
                self._queue.dead,
                {
                    ATTEMPT_HEADER: attempt,
                    ERROR_HEADER: repr(exc)[:500],
                    DEAD_LETTERED_AT_HEADER: datetime.now(UTC).isoformat(timespec="seconds"),
                },
            )
            log.error(
                "events.dead_lettered", queue=self._queue.name, message_id=envelope.id, attempts=attempt
            )
        copy = _message(envelope, message.body, headers)
        copy.content_type = message.content_type  # a batch stays a batch
        # The same message id, so a consumer that claims ids (the usage inbox) never counts the copy
        # and the original both, should this process die between publishing one and acking the other.
        copy.message_id = message.message_id or copy.message_id
        await self._channel.default_exchange.publish(copy, routing_key=target)
        if target == self._queue.dead and self._on_dead_letter is not None:
            await self._announce_dead_letter(envelopes, exc)
        await message.ack()

    async def _announce_dead_letter(self, envelopes: list[Envelope], exc: Exception) -> None:
        for envelope in envelopes:
            set_correlation_id(envelope.correlation_id)
            try:
                await self._on_dead_letter(envelope, exc)
            except Exception as callback_exc:  # the message is safe in the dead-letter queue anyway
                log.error(
                    "events.dead_letter_callback_failed",
                    queue=self._queue.name,
                    message_id=envelope.id,
                    error=repr(callback_exc),
                )
