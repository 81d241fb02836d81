"""Relays committed outbox rows to RabbitMQ with publisher confirms, then deletes them.

Woken by `NOTIFY poolgate_outbox` (a trigger on insert) and by a slow poll as a safety net. A row is
deleted only after the broker confirmed it, so a lost connection delays events but never drops them;
several replicas can relay at once because rows are claimed with SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from services.account_service.db import connect
from services.account_service.metrics import OUTBOX_RELAY_FAILURES as RELAY_FAILURES
from services.account_service.metrics import OUTBOX_RELAYED as RELAYED
from services.account_service.outbox import repository
from shared.logging import get_logger
from shared.messages import Broker, Envelope

log = get_logger(__name__)


class OutboxRelay:
    def __init__(
        self, *, pool: asyncpg.Pool, broker: Broker, dsn: str, poll_s: float = 2.0, batch: int = 200
    ):
        self._pool = pool
        self._broker = broker
        self._dsn = dsn
        self._poll_s = poll_s
        self._batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._listener: asyncpg.Connection | None = None

    async def start(self) -> None:
        await self._listen()
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def _listen(self) -> None:
        """LISTEN on a connection of its own; after PostgreSQL restarted, on a new one (until then
        the poll alone wakes the relay)."""
        if self._listener is not None and not self._listener.is_closed():
            return
        self._listener = await connect(self._dsn)
        await self._listener.add_listener("poolgate_outbox", lambda *_: self._wake.set())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            await self._listener.close()

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                await self._listen()
                while await self.relay_once():
                    pass
                backoff = 0.5
            except Exception as exc:
                RELAY_FAILURES.inc()
                log.warning("outbox.relay_failed", error=repr(exc), retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)

    async def relay_once(self) -> int:
        """Publish one batch; returns how many rows went out."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await repository.claim(conn, limit=self._batch)
            if not rows:
                return 0
            await self._broker.publish_many([Envelope.from_bytes(r.body) for r in rows])
            await repository.delete(conn, ids=[r.id for r in rows])
        RELAYED.inc(len(rows))
        return len(rows)
