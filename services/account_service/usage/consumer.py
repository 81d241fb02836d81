"""Consumes `usage.recorded`: keeps live health, acts on outcomes, and adds the outcomes to the
account and key counters in one statement per batch (never a row per request), today's calls per
account among them: a call counts in the day it happened (its `occurred_at`, in the configured day of
shared/day_boundary.py), and the first call of a new day starts the account's count again. The same
transaction adds the batch to the hourly rollups (`usage_hourly`, rollup.py), also in one statement.
It releases nothing: the proxy releases each lease directly when its attempt ends (`/internal/v1/leases`).
Each key's tokens of the day go to Redis after the commit too, for its tokens-per-day limit
(keys/tokens.py); the batch that reaches the limit publishes `api_key.limit_reached` through the outbox.

Exactly once: each AMQP message's id is claimed in the same transaction as its counts
(`inbox.py`), so a message delivered again is skipped and every counted call is counted once. Live
health and cooldowns go to Redis after the commit and only for newly claimed messages; with Redis away
health is skipped (it is a moving rate) and cooldowns are kept in this replica's memory
(`allocation/fallback.py`), so a Redis outage never holds up counting.

Ack policy (`shared/messages/broker.py`): the batch is acked after its transaction commits; while
PostgreSQL is unreachable the batch waits unacked and is tried again until it is back; any other failure
retries the whole batch through the delayed retry queue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

import asyncpg

from services.account_service.accounts import repository as accounts
from services.account_service.accounts.service import change_status
from services.account_service.allocation.health import Health
from services.account_service.allocation.picker import Picks
from services.account_service.keys import repository as keys
from services.account_service.keys.tokens import KeyTokens
from services.account_service.outbox.writer import record
from services.account_service.proxies import repository as proxies
from services.account_service.usage import outcomes
from services.account_service.usage import repository as usage_rollups
from services.account_service.usage.inbox import Inbox
from services.account_service.usage.rollup import roll_up
from shared.day_boundary import DayBoundary
from shared.logging import get_logger
from shared.messages.broker import Delivery
from shared.messages.contracts import AccountCredentialRejected, ApiKeyLimitReached, UsageRecorded
from shared.messages.topology import USAGE_QUEUE
from shared.outages import is_unavailable

log = get_logger(__name__)

QUEUE = USAGE_QUEUE
BINDINGS = ["usage.recorded"]


@dataclass(slots=True)
class _Tally:
    successes: int = 0
    failures: int = 0
    last_used: datetime | None = None
    day: date | None = None  # the latest day of the batch's calls; only its calls count as that day's
    day_calls: int = 0
    day_successes: int = 0

    def add(self, *, ok: bool, at: datetime, day: date) -> None:
        if ok:
            self.successes += 1
        else:
            self.failures += 1
        self.last_used = max(self.last_used or at, at)
        if self.day is None or day > self.day:
            self.day, self.day_calls, self.day_successes = day, 0, 0
        if day == self.day:
            self.day_calls += 1
            self.day_successes += ok


class UsageConsumer:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        picker: Picks,
        health: Health,
        days: DayBoundary,
        tokens: KeyTokens | None = None,
        tokens_limit: Callable[[str], int | None] = lambda key_id: None,
    ) -> None:
        self._pool = pool
        self._picker = picker
        self._health = health
        self._days = days
        self._tokens = tokens
        self._tokens_limit = tokens_limit  # a key's tokens per day (its own or the default), by key id
        self._inbox = Inbox(QUEUE)

    async def handle(self, deliveries: list[Delivery]) -> None:
        once = {d.message_id: d for d in reversed(deliveries)}  # the same message twice in a batch
        async with self._pool.acquire() as conn, conn.transaction():
            fresh = await self._inbox.claim(conn, list(once))
            usages = [
                (e.event(), e.occurred_at)
                for message_id in fresh
                for e in once[message_id].envelopes
                if e.type == UsageRecorded.TYPE
            ]
            for usage, _ in usages:
                if usage.outcome in ("credential_rejected", "exhausted"):
                    await self._change_status(conn, usage)
            if usages:
                await self._egress_health(conn, [u for u, _ in usages])
                await self._count(conn, usages)
        if usages:
            await self._cool_accounts([u for u, _ in usages])  # kept in memory while Redis is away
            try:
                await self._live_health([u for u, _ in usages])
                await self._count_tokens(usages)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                log.warning("usage.health_skipped", count=len(usages), error=exc.__class__.__name__)

    async def _egress_health(self, conn: asyncpg.Connection, usages: list[UsageRecorded]) -> None:
        """A proxy that failed an attempt is unhealthy, with the error; one that carried a successful
        call (and failed none of the batch) is healthy again."""
        failed: dict[str, str] = {}
        worked: set[str] = set()
        for usage in usages:
            if usage.egress_proxy_id is None:
                continue
            if usage.outcome == "proxy_error":
                failed[usage.egress_proxy_id] = (usage.egress_error or "a call through it failed")[:500]
            elif usage.outcome == "success":
                worked.add(usage.egress_proxy_id)
        for proxy_id, error in failed.items():
            await proxies.record_health(conn, proxy_id=UUID(proxy_id), healthy=False, error=error)
            log.warning("egress_proxy.failed", egress_proxy_id=proxy_id, error=error)
        if worked - failed.keys():
            await proxies.mark_working(conn, proxy_ids=[UUID(p) for p in worked - failed.keys()])

    async def _count_tokens(self, usages: list[tuple[UsageRecorded, datetime]]) -> None:
        """Add the batch's tokens to each key's day in Redis (keys/tokens.py); a key that reached its
        tokens per day is announced as `api_key.limit_reached`, once per key and day."""
        if self._tokens is None:
            return
        counts: dict[tuple[str, date], tuple[int, int | None]] = {}
        users: dict[str, str] = {}
        for usage, at in usages:
            tokens = (usage.input_tokens or 0) + (usage.output_tokens or 0)
            if tokens > 0:
                day_key = (usage.api_key_id, self._days.day_of(at))
                before = counts.get(day_key, (0, None))[0]
                counts[day_key] = (before + tokens, self._tokens_limit(usage.api_key_id))
                users[usage.api_key_id] = usage.user_id
        reached = await self._tokens.add(counts)
        if not reached:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            for key_id, day in reached:
                limit = counts[(key_id, day)][1] or 0
                await record(
                    conn,
                    ApiKeyLimitReached(
                        key_id=key_id,
                        user_id=users[key_id],
                        limit="tokens_per_day",
                        value=limit,
                        day=day,
                        resets_at=self._days.start_of(day + timedelta(days=1)),
                    ),
                )
                log.info("api_key.limit_reached", key_id=key_id, limit="tokens_per_day", value=limit)

    async def _cool_accounts(self, usages: list[UsageRecorded]) -> None:
        for usage in usages:
            if usage.outcome == "proxy_error" and usage.egress_proxy_id:
                await self._picker.cool_down(usage.account_id, outcomes.PROXY_COOLDOWN_S)
                log.info(
                    "account.cooling",
                    account_id=usage.account_id,
                    seconds=outcomes.PROXY_COOLDOWN_S,
                    reason="egress proxy failed",
                    egress_proxy_id=usage.egress_proxy_id,
                )
            if usage.outcome == "rate_limited":
                seconds = outcomes.rate_limit_cooldown(usage.retry_after)
                await self._picker.cool_down(usage.account_id, seconds)
                log.info(
                    "account.cooling", account_id=usage.account_id, seconds=seconds, reason="rate limited"
                )

    async def _live_health(self, usages: list[UsageRecorded]) -> None:
        cooled = await self._health.record(
            [
                (u.account_id, u.outcome == "success", u.outcome in outcomes.SERVER_ERRORS)
                for u in usages
                if u.outcome not in outcomes.NEUTRAL
            ]
        )
        for account_id, seconds in cooled.items():
            log.info("account.cooling", account_id=account_id, seconds=seconds, reason="server errors")

    async def _change_status(self, conn: asyncpg.Connection, usage: UsageRecorded) -> None:
        account = await accounts.get_for_update(conn, account_id=UUID(usage.account_id))
        if account is None or account.status != "active":
            return  # deleted, or already taken out of the pool by an earlier event
        if usage.outcome == "exhausted":
            until = outcomes.exhausted_until(
                account, retry_after=usage.retry_after, now=self._days.now(), days=self._days
            )
            await change_status(
                conn,
                account=account,
                status="exhausted",
                reason=f"upstream quota exhausted ({outcomes.cause(**_codes(usage))})",
                until=until,
            )
            return
        reason = f"upstream rejected the credential ({outcomes.cause(**_codes(usage))})"
        if outcomes.worker_decides(account):
            await self._picker.cool_down(usage.account_id, outcomes.CREDENTIAL_COOLDOWN_S)
        else:
            await change_status(conn, account=account, status="invalid", reason=reason)
        await record(
            conn,
            AccountCredentialRejected(
                account_id=usage.account_id,
                kind=account.kind,
                status_code=usage.status_code or 0,
                reason=reason,
            ),
        )

    async def _count(self, conn: asyncpg.Connection, usages: list[tuple[UsageRecorded, datetime]]) -> None:
        per_account: dict[str, _Tally] = defaultdict(_Tally)
        per_key: dict[str, list] = defaultdict(lambda: [0, None])
        for usage, at in usages:
            per_account[usage.account_id].add(ok=usage.outcome == "success", at=at, day=self._days.day_of(at))
            key = per_key[usage.api_key_id]
            key[0] += 1
            key[1] = max(key[1] or at, at)
        tallies = per_account.values()
        await accounts.add_outcomes(
            conn,
            account_ids=[UUID(a) for a in per_account],
            successes=[t.successes for t in tallies],
            failures=[t.failures for t in tallies],
            last_used=[t.last_used for t in tallies],
            days=[t.day for t in tallies],
            day_calls=[t.day_calls for t in tallies],
            day_successes=[t.day_successes for t in tallies],
        )
        await keys.add_usage(
            conn,
            key_ids=[UUID(k) for k in per_key],
            counts=[t[0] for t in per_key.values()],
            last_used=[t[1] for t in per_key.values()],
        )
        await usage_rollups.add_hourly(conn, groups=roll_up(usages))


def _codes(usage: UsageRecorded) -> dict[str, int | None]:
    return {"status_code": usage.status_code, "upstream_code": usage.upstream_code}
