"""The sweeper: one leader at a time (a PostgreSQL advisory lock held on its own connection)
announces credentials that expire soon and brings exhausted accounts back at their reset time.

* Kiro access tokens expiring within 10 minutes → `account.refresh_due` (every Kiro account can
  refresh). Dreamina sessionids expiring within 24 hours → `account.refresh_due`, only for accounts
  that can log in.
* An announcement is not repeated for the same account for `announce_every_s`, so a slow worker is
  not flooded while it refreshes.
* `exhausted` accounts whose `status_until` has passed become `active` again.
* Optionally, once a day from `daily_check` (a time of day in `zone`), every Dreamina account in the
  pool is announced with `account.refresh_due` carrying its current expiry: the worker asks the
  upstream whether its sessionid still lives (and reads its credits), and logs in again only an
  account that can and whose sessionid is dead or about to expire. The day's pass is marked in
  Redis, so it runs once per day whichever replica leads; one missed (Redis away, no leader at
  that time) runs later the same day.
* Accounts that opted in to probes and whose probe is due → `account.probe_requested`, at most
  `probes_per_pass` per pass (the due time moves on by the account's interval as it is announced, in
  the database, so a new leader neither repeats nor skips one).
* Hourly usage rollups older than `usage_retention_days` are deleted, at most once an hour.
* With Redis away a pass announces nothing (it cannot tell what it announced already) but still
  reactivates; a failed pass is logged and the next one runs on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time as monotonic
from datetime import UTC, datetime, time, timedelta, tzinfo

import asyncpg
from redis.asyncio import Redis

from services.account_service.accounts import repository as accounts
from services.account_service.db import connect
from services.account_service.outbox.writer import record
from services.account_service.probes import service as probes
from services.account_service.usage import repository as usage
from shared.logging import get_logger
from shared.messages.contracts import AccountRefreshDue, AccountStatusChanged
from shared.outages import is_unavailable

log = get_logger(__name__)

_LOCK_ID = 0x7377656570  # "sweep"
KIRO_WINDOW = timedelta(minutes=10)
DREAMINA_WINDOW = timedelta(hours=24)
_DAILY_MARK_TTL_S = 2 * 24 * 3600
_PRUNE_USAGE_EVERY_S = 3600.0


class Sweeper:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        dsn: str,
        redis: Redis,
        prefix: str,
        interval_s: float = 30.0,
        announce_every_s: int = 300,
        lock_id: int = _LOCK_ID,
        daily_check: time | None = None,
        zone: tzinfo = UTC,
        usage_retention_days: int = 400,
        probes_per_pass: int = 200,
    ) -> None:
        self._pool = pool
        self._dsn = dsn
        self._redis = redis
        self._prefix = prefix
        self._interval_s = interval_s
        self._announce_every_s = announce_every_s
        self._lock_id = lock_id
        self._daily_check = daily_check
        self._zone = zone
        self._usage_retention = timedelta(days=usage_retention_days)
        self._usage_pruned_at: float | None = None
        self._probes_per_pass = probes_per_pass
        self._task: asyncio.Task | None = None
        self.is_leader = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sweeper")

    async def stop(self) -> None:
        """Cancels the loop; a pass cut short is rolled back, and the lock goes with its connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        lock_conn: asyncpg.Connection | None = None
        try:
            while True:
                try:
                    if lock_conn is None or lock_conn.is_closed():
                        self.is_leader = False
                        lock_conn = await connect(self._dsn)
                    if not self.is_leader:
                        # The lock lives as long as this connection: a dead leader's lock is freed with it.
                        self.is_leader = await lock_conn.fetchval(
                            "SELECT pg_try_advisory_lock($1)", self._lock_id
                        )
                    if self.is_leader:
                        await self.sweep_once()
                        await self.schedule_probes()
                        await self.revalidate_daily()
                        await self._prune_usage_hourly()
                except Exception as exc:  # the sweeper outlives any one failed pass
                    if is_unavailable(exc) or isinstance(exc, asyncpg.PostgresError):
                        log.warning("sweeper.failed", error=repr(exc))
                    else:
                        log.exception("sweeper.failed")
                    self.is_leader = False
                    lock_conn = None
                await asyncio.sleep(self._interval_s)
        finally:
            # Dropped, not closed politely: a cancelled pass may have left the connection mid-query,
            # and a graceful close would wait for it. The server frees the lock with the session.
            if lock_conn is not None and not lock_conn.is_closed():
                lock_conn.terminate()

    async def sweep_once(self, now: datetime | None = None) -> int:
        """One pass; returns how many refreshes were announced."""
        now = now or datetime.now(UTC)
        announced = 0
        async with self._pool.acquire() as conn, conn.transaction():
            due = await accounts.due_for_refresh(
                conn, kiro_before=now + KIRO_WINDOW, dreamina_before=now + DREAMINA_WINDOW
            )
            for account in due:
                try:
                    fresh = await self._redis.set(
                        f"{self._prefix}:refresh_due:{account.id}", 1, nx=True, ex=self._announce_every_s
                    )
                except Exception as exc:
                    if not is_unavailable(exc):
                        raise
                    # Without Redis there is no telling what was announced already: announce
                    # nothing this pass (the next one tries again), but reactivate below.
                    log.warning("sweeper.announcements_skipped", reason="Redis unreachable", due=len(due))
                    break
                if fresh:
                    await record(
                        conn,
                        AccountRefreshDue(
                            account_id=str(account.id),
                            kind=account.kind,
                            expires_at=account.credential_expires_at,
                        ),
                    )
                    announced += 1
            for account in await accounts.reactivate_exhausted(conn, now=now):
                await record(
                    conn,
                    AccountStatusChanged(
                        account_id=str(account.id),
                        kind=account.kind,
                        status="active",
                        reason="quota reset time reached",
                    ),
                )
        if announced:
            log.info("sweeper.refresh_due", count=announced)
        return announced

    async def schedule_probes(self, now: datetime | None = None) -> int:
        """Announce the due probes; returns how many."""
        async with self._pool.acquire() as conn, conn.transaction():
            count = await probes.schedule_due(conn, now=now or datetime.now(UTC), limit=self._probes_per_pass)
        if count:
            log.info("sweeper.probes_due", count=count)
        return count

    async def _prune_usage_hourly(self) -> None:
        now = monotonic.monotonic()
        if self._usage_pruned_at is not None and now - self._usage_pruned_at < _PRUNE_USAGE_EVERY_S:
            return
        await self.prune_usage()
        self._usage_pruned_at = now

    async def prune_usage(self, now: datetime | None = None) -> int:
        """Deletes the usage rollups of hours older than the retention; returns how many rows."""
        before = (now or datetime.now(UTC)) - self._usage_retention
        async with self._pool.acquire() as conn:
            deleted = await usage.delete_before(conn, before=before)
        if deleted:
            log.info("sweeper.usage_pruned", rows=deleted, before=before.isoformat())
        return deleted

    async def revalidate_daily(self, now: datetime | None = None) -> int:
        """The day's revalidation of every Dreamina account, once its time has come; returns how
        many were announced (0 before the time, once done, when off, or with Redis away)."""
        if self._daily_check is None:
            return 0
        local = (now or datetime.now(UTC)).astimezone(self._zone)
        if local.time() < self._daily_check:
            return 0
        mark = f"{self._prefix}:dreamina_daily:{local.date().isoformat()}"
        try:
            if await self._redis.exists(mark):
                return 0  # done today already
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            log.warning("sweeper.daily_revalidation_skipped", reason="Redis unreachable")
            return 0
        async with self._pool.acquire() as conn, conn.transaction():
            due = await accounts.dreamina_in_pool(conn)
            for account in due:
                await record(
                    conn,
                    AccountRefreshDue(
                        account_id=str(account.id), kind="dreamina", expires_at=account.credential_expires_at
                    ),
                )
        # Marked after the commit: should the mark fail, the next pass announces again, which only
        # costs a second liveness check per account.
        try:
            await self._redis.set(mark, 1, ex=_DAILY_MARK_TTL_S)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            log.warning("sweeper.daily_revalidation_unmarked", reason="Redis unreachable")
        log.info("sweeper.daily_revalidation", count=len(due), day=local.date().isoformat())
        return len(due)
