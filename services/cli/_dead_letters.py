"""`poolgate events dead`: what sits in the dead-letter queues, and replaying it.

A consumer queue `<prefix>.<name>` dead-letters into `<prefix>.<name>.dead` (`shared/messages/topology.py`)
in two ways: RabbitMQ itself for a malformed message (rejected; it adds the `x-death` header), and the
consumer wrapper for a message out of attempts (it copies the message there with the attempt count,
the last error and the time: `shared/messages/broker.py`). The listing shows only envelope metadata
and those headers, never the envelope's `data`, and of the error only its class: both could hold
what must not reach a terminal.

`--replay` sends each message back to the queue it died in, through the default exchange as the
consumer wrapper's own retries do, rather than to the events exchange: other queues bound to its type
handled it already, and their processed-id marks are a best effort that expires. It keeps the
message id, type, correlation id and other headers (so the consumer's idempotency still applies),
drops the dead-letter headers (so it gets a full set of attempts again), and is removed from the
dead-letter queue only once the broker confirmed the copy.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime

import aio_pika
import orjson
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from aio_pika.exceptions import DeliveryError, PublishError
from aiormq.exceptions import ChannelNotFoundEntity

from shared.messages.broker import (
    ATTEMPT_HEADER,
    BATCH_CONTENT_TYPE,
    DEAD_LETTERED_AT_HEADER,
    ERROR_HEADER,
)
from shared.messages.topology import CONSUMER_QUEUES, ConsumerQueue
from shared.settings import BaseServiceSettings

# Headers that describe a death, not the message: not carried over by a replay.
_DEATH_HEADERS = frozenset(
    {
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
        ATTEMPT_HEADER,
        ERROR_HEADER,
        DEAD_LETTERED_AT_HEADER,
    }
)
_ENVELOPE_FIELDS = ("type", "producer", "occurred_at", "correlation_id")


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message, described without its payload."""

    message_id: str | None
    type: str | None
    queue: str  # the consumer queue it died in
    reason: str  # RabbitMQ's (`rejected` for a malformed message) or `attempts_exhausted`
    count: int  # times dead-lettered (x-death), or attempts made
    error: str | None  # the class of the last error, never its message
    first_dead_at: str | None
    last_dead_at: str | None
    envelope: dict[str, str]  # type, producer, occurred_at, correlation_id when the body has them
    envelopes: int  # in a batch message

    def line(self) -> str:
        fields = {
            "id": self.message_id,
            "type": self.type,
            "queue": self.queue,
            "reason": self.reason,
            "count": self.count,
            "error": self.error,
            "first_dead_at": self.first_dead_at,
            "last_dead_at": self.last_dead_at,
            **{k: v for k, v in self.envelope.items() if k != "type"},
            "envelopes": self.envelopes if self.envelopes != 1 else None,
        }
        return "  " + " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)


def consumer_queue(name: str, prefix: str) -> ConsumerQueue:
    """`--queue` as listed (`refresh_worker.accounts`), or with the prefix or `.dead` suffix."""
    name = name.removesuffix(".dead").removeprefix(f"{prefix}.")
    return ConsumerQueue(f"{prefix}.{name}")


def describe(message: AbstractIncomingMessage, queue: ConsumerQueue) -> DeadLetter:
    headers = message.headers or {}
    envelope, count = _envelope_metadata(message.body, batch=message.content_type == BATCH_CONTENT_TYPE)
    deaths = [d for d in headers.get("x-death") or [] if isinstance(d, dict)]
    if deaths:
        times = sorted(_iso(d.get("time")) for d in deaths if d.get("time") is not None)
        return DeadLetter(
            message_id=message.message_id,
            type=message.type or envelope.get("type") or _routing_key(deaths[0]),
            queue=queue.name,
            reason=_text(deaths[0].get("reason")) or "unknown",  # the most recent death comes first
            count=sum(int(d.get("count", 1)) for d in deaths if _text(d.get("queue")) == queue.name) or 1,
            error=None,
            first_dead_at=times[0] if times else None,
            last_dead_at=times[-1] if times else None,
            envelope=envelope,
            envelopes=count,
        )
    dead_at = _text(headers.get(DEAD_LETTERED_AT_HEADER))
    return DeadLetter(
        message_id=message.message_id,
        type=message.type or envelope.get("type"),
        queue=queue.name,
        reason="attempts_exhausted",
        count=int(headers.get(ATTEMPT_HEADER, 0)),
        error=_error_class(_text(headers.get(ERROR_HEADER))),
        first_dead_at=dead_at,
        last_dead_at=dead_at,
        envelope=envelope,
        envelopes=count,
    )


def replay_copy(message: AbstractIncomingMessage) -> aio_pika.Message:
    """The message as first published: same id, type and headers, without the death headers."""
    return aio_pika.Message(
        message.body,
        headers={k: v for k, v in (message.headers or {}).items() if k not in _DEATH_HEADERS},
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        priority=message.priority,
        correlation_id=message.correlation_id,
        reply_to=message.reply_to,
        message_id=message.message_id,
        timestamp=message.timestamp,
        type=message.type,
        app_id=message.app_id,
    )


async def dead(queue: str | None = None, *, replay: bool = False) -> int:
    settings = BaseServiceSettings()
    names = [queue] if queue else list(CONSUMER_QUEUES)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        for name in names:
            target = consumer_queue(name, settings.queue_prefix)
            # A channel per queue: a passive declare of a missing queue closes its channel.
            channel = await connection.channel(on_return_raises=True)
            try:
                dlq = await channel.declare_queue(target.dead, durable=True, passive=True)
            except ChannelNotFoundEntity:
                print(f"{target.dead}: no such queue")
                if queue:
                    return 1
                continue
            async with channel:
                if not await _list_or_replay(channel, dlq, target, replay=replay):
                    return 1
    return 0


async def _list_or_replay(
    channel: AbstractChannel, dlq: AbstractQueue, target: ConsumerQueue, *, replay: bool
) -> bool:
    # Held unacknowledged while listed; closing the channel puts back whatever was not replayed.
    held: list[AbstractIncomingMessage] = []
    while (message := await dlq.get(no_ack=False, fail=False)) is not None:
        held.append(message)
    print(f"{target.dead}: {len(held)} message(s)")
    for message in held:
        print(describe(message, target).line())
    if not replay or not held:
        return True
    replayed = 0
    try:
        for message in held:
            await channel.default_exchange.publish(replay_copy(message), routing_key=target.name)
            await message.ack()
            replayed += 1
    except (PublishError, DeliveryError) as exc:  # e.g. the consumer queue is gone: nothing is lost
        print(f"poolgate: {target.name} did not take a replayed message ({exc!r})", file=sys.stderr)
    print(f"{target.dead}: replayed {replayed} of {len(held)} message(s) to {target.name}")
    return replayed == len(held)


def _envelope_metadata(body: bytes, *, batch: bool) -> tuple[dict[str, str], int]:
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}, 0
    envelopes = decoded if batch and isinstance(decoded, list) else [decoded]
    first = envelopes[0] if envelopes and isinstance(envelopes[0], dict) else {}
    return {k: str(first[k]) for k in _ENVELOPE_FIELDS if first.get(k) is not None}, len(envelopes)


def _routing_key(death: dict) -> str | None:
    keys = death.get("routing-keys") or []
    return _text(keys[0]) if keys else None


def _error_class(error: str | None) -> str | None:
    """`RuntimeError('…')` -> `RuntimeError`: the message could quote anything."""
    return error.split("(", 1)[0] if error else None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return None if value is None else str(value)


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
