"""`poolgate events tail`: the events whose type matches a pattern, one JSON object a line, as they
arrive (shared/messages/watch.py)."""

from __future__ import annotations

import asyncio
import sys

import aio_pika

from shared.messages.envelope import Envelope
from shared.messages.watch import is_pattern, watch
from shared.settings import BaseServiceSettings

_IDLE_S = 3600.0


async def tail(pattern: str) -> int:
    if not is_pattern(pattern):
        print(f"poolgate: not a routing-key pattern: {pattern!r} (e.g. 'account.*', '#')", file=sys.stderr)
        return 2
    settings = BaseServiceSettings()
    connection = await aio_pika.connect_robust(settings.amqp_url)
    async with connection, watch(connection, exchange=settings.events_exchange, pattern=pattern) as events:
        print(f"# listening on {settings.events_exchange} for {pattern!r}", file=sys.stderr, flush=True)
        while True:
            # A batch message holds several envelopes: each is printed on its own line.
            for each in await events.next(_IDLE_S) or ():
                print(each.model_dump_json() if isinstance(each, Envelope) else each, flush=True)


if __name__ == "__main__":
    asyncio.run(tail(sys.argv[1] if len(sys.argv) > 1 else "#"))
