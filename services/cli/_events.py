"""`poolgate events tail`: a private, auto-deleted queue bound to the pattern, printed as it arrives."""

from __future__ import annotations

import asyncio
import sys

import aio_pika
import orjson

from shared.messages.broker import BATCH_CONTENT_TYPE
from shared.messages.topology import declare_exchange
from shared.settings import BaseServiceSettings


async def tail(pattern: str) -> int:
    settings = BaseServiceSettings()
    connection = await aio_pika.connect_robust(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await declare_exchange(channel, settings.events_exchange)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=pattern)
        print(f"# listening on {settings.events_exchange} for {pattern!r}", file=sys.stderr, flush=True)
        async with queue.iterator() as messages:
            async for message in messages:
                async with message.process():
                    try:
                        decoded = orjson.loads(message.body)
                    except orjson.JSONDecodeError:
                        print(message.body.decode(errors="replace"), flush=True)
                        continue
                    # A batch message holds several envelopes: print each on its own line.
                    for envelope in decoded if message.content_type == BATCH_CONTENT_TYPE else [decoded]:
                        print(orjson.dumps(envelope).decode(), flush=True)
    return 0


if __name__ == "__main__":
    asyncio.run(tail(sys.argv[1] if len(sys.argv) > 1 else "#"))
