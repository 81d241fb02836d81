"""Works through running jobs in every replica: one chunk of accounts per transaction, the job row
locked with SKIP LOCKED, so replicas share the work and never act on an account twice; a job a crashed
replica left half done is taken up by the next poll of any replica.

Woken by the request that started a job (after its commit) and by a slow poll as a safety net. A failed
chunk rolls back whole (its events with it) and is tried again after a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg

from services.account_service.jobs import service
from shared.day_boundary import DayBoundary
from shared.logging import get_logger

log = get_logger(__name__)

_PRUNE_EVERY_S = 3600.0


class JobRunner:
    def __init__(
        self, *, pool: asyncpg.Pool, days: DayBoundary, chunk_size: int = 100, poll_s: float = 5.0
    ) -> None:
        self._pool = pool
        self._days = days
        self._chunk_size = chunk_size
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._pruned_at = 0.0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="job-runner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            self._wake.clear()
            try:
                while await self.work_once():
                    pass
                await self._prune()
                backoff = 0.5
            except Exception as exc:  # the runner outlives any one failed chunk
                log.warning("jobs.chunk_failed", error=repr(exc), retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)

    async def work_once(self) -> bool:
        """One chunk of one job; False when no job is waiting."""
        async with self._pool.acquire() as conn, conn.transaction():
            job = await service.work_chunk(conn, limit=self._chunk_size)
        if job is None:
            return False
        if job.status == "finished":
            log.info(
                "jobs.finished", job_id=str(job.id), action=job.action, queued=job.queued, skipped=job.skipped
            )
        return True

    async def _prune(self) -> None:
        if time.monotonic() - self._pruned_at < _PRUNE_EVERY_S:
            return
        self._pruned_at = time.monotonic()
        async with self._pool.acquire() as conn:
            pruned = await service.prune_finished(conn, now=self._days.now())
        if pruned:
            log.info("jobs.pruned", count=pruned)
