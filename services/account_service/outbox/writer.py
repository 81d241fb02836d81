"""What services call to announce a change, inside the transaction that makes it."""

from __future__ import annotations

import asyncpg

from services.account_service.outbox import repository
from shared.messages import Envelope, Event

PRODUCER = "account_service"


async def record(conn: asyncpg.Connection, event: Event) -> Envelope:
    envelope = Envelope.wrap(event, producer=PRODUCER)
    await repository.add(conn, envelope=envelope)
    return envelope
