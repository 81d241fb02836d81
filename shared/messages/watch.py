"""Watching the event stream live, as `poolgate events tail` and the console's event page do.

A watch is a private queue (exclusive, auto-deleted, named by the broker) bound to one routing-key
pattern. The watcher takes messages at its own pace: the broker hands over a few at a time (prefetch)
and keeps at most `backlog` waiting, dropping the oldest, so a slow or idle watcher costs a short queue
and no memory here. The queue is deleted when the watch ends, also when it ends by cancellation (a
browser that went away).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from shared.messages.broker import BATCH_CONTENT_TYPE
from shared.messages.envelope import Envelope, MalformedMessage
from shared.messages.topology import declare_exchange

# Words of letters, digits, `_` and `-`, or the wildcards `*` (one word) and `#` (any number), joined
# by dots; AMQP caps a routing key at 255 bytes.
_PATTERN = re.compile(r"(?:[A-Za-z0-9_-]+|\*|#)(?:\.(?:[A-Za-z0-9_-]+|\*|#))*")
MAX_PATTERN_LENGTH = 255

# Clean-ups still running after their watch was cancelled (a strong reference, or asyncio may drop them).
_closing: set[asyncio.Task] = set()


def is_pattern(pattern: str) -> bool:
    """Whether `pattern` is a routing-key pattern a queue can be bound with (`account.*`, `#`, ...)."""
    return len(pattern) <= MAX_PATTERN_LENGTH and _PATTERN.fullmatch(pattern) is not None


class Watch:
    def __init__(self, inbox: asyncio.Queue[AbstractIncomingMessage], *, queue: str) -> None:
        self._inbox = inbox
        self.queue = queue  # the broker-named queue, there while the watch lasts

    async def next(self, timeout_s: float) -> list[Envelope | str] | None:
        """The next message's envelopes (several for a batch message), or its body as text when it is
        not an envelope; None when nothing arrived within `timeout_s`."""
        try:
            message = await asyncio.wait_for(self._inbox.get(), timeout_s)
        except TimeoutError:
            return None
        await message.ack()
        try:
            return list(
                Envelope.many_from_bytes(message.body, batch=message.content_type == BATCH_CONTENT_TYPE)
            )
        except MalformedMessage:
            return [message.body.decode(errors="replace")]


@asynccontextmanager
async def watch(
    connection: AbstractRobustConnection,
    *,
    exchange: str,
    pattern: str,
    backlog: int = 1000,
    prefetch: int = 50,
) -> AsyncIterator[Watch]:
    """A watch of the events of `exchange` whose type matches `pattern`, on a channel of its own."""
    if not is_pattern(pattern):
        raise ValueError(f"not a routing-key pattern: {pattern!r}")
    channel = await connection.channel()
    queue: AbstractQueue | None = None
    try:
        await channel.set_qos(prefetch_count=prefetch)
        declared = await declare_exchange(channel, exchange)
        queue = await channel.declare_queue(
            exclusive=True, auto_delete=True, arguments={"x-max-length": backlog}
        )
        await queue.bind(declared, routing_key=pattern)
        inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        await queue.consume(inbox.put)
        yield Watch(inbox, queue=queue.name)
    finally:
        # Shielded: a cancelled watcher (the browser went away) must still delete its queue.
        cleanup = asyncio.ensure_future(_close(channel, queue))
        _closing.add(cleanup)
        cleanup.add_done_callback(_closing.discard)
        await asyncio.shield(cleanup)


async def _close(channel: AbstractChannel, queue: AbstractQueue | None) -> None:
    try:
        if queue is not None and not channel.is_closed:
            await queue.delete(if_unused=False, if_empty=False)
    finally:
        await channel.close()  # its consumer goes with it, which deletes an auto-delete queue anyway
