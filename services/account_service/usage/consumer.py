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

Error rules (error_rules/): a failed attempt matching an operator's rule gets the rule's action
(cool down, exhausted, disabled, or ignored: not counted as a failure) instead of its outcome's
default consequence below; the rules are cached and reloaded only when their version row moves.

Ack policy (`shared/messages/broker.py`): the batch is acked after its transaction commits; while
PostgreSQL is unreachable the batch waits unacked and is tried again until it is back; any other failure
retries the whole batch through the delayed retry queue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter
from uuid import UUID

import asyncpg

from services.account_service.accounts import quota
from services.account_service.accounts import repository as accounts
from services.account_service.accounts.schemas import Account
from services.account_service.accounts.service import change_status
from services.account_service.allocation.health import Health
from services.account_service.allocation.picker import Picks
from services.account_service.error_rules import applying as error_rule
from services.account_service.error_rules.cache import RuleCache
from services.account_service.error_rules.matching import Failure as RuleFailure
from services.account_service.error_rules.matching import first_match
from services.account_service.error_rules.schemas import ErrorRule
from services.account_service.keys import repository as keys
from services.account_service.keys.tokens import KeyTokens
from services.account_service.outbox.writer import record
from services.account_service.proxies import health as proxy_health
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
# Attempts no error rule judges (no upstream answer to match): a success, a client that left, a
# failed egress proxy, the proxy service's own failure.
_NEVER_RULED = frozenset({"success", "cancelled", "proxy_error", "internal_error"})


@dataclass(slots=True)
class _Tally:
    successes: int = 0
    failures: int = 0
    last_used: datetime | None = None
    day: date | None = None  # the latest day of the batch's calls; only its calls count as that day's
    day_calls: int = 0
    day_successes: int = 0

    def add(self, *, ok: bool | None, at: datetime, day: date) -> None:
        """`ok` None: a failure an error rule said to ignore (neither a success nor a failure)."""
        if ok:
            self.successes += 1
        elif ok is not None:
            self.failures += 1
        self.last_used = max(self.last_used or at, at)
        if self.day is None or day > self.day:
            self.day, self.day_calls, self.day_successes = day, 0, 0
        if day == self.day:
            self.day_calls += 1
            self.day_successes += bool(ok)


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
        self._rules = RuleCache()

    async def handle(self, deliveries: list[Delivery]) -> None:
        once = {d.message_id: d for d in reversed(deliveries)}  # the same message twice in a batch
        cooldowns: list[tuple[str, float]] = []
        async with self._pool.acquire() as conn, conn.transaction():
            fresh = await self._inbox.claim(conn, list(once))
            usages = [
                (e.event(), e.occurred_at)
                for message_id in fresh
                for e in once[message_id].envelopes
                if e.type == UsageRecorded.TYPE
            ]
            ruled, locked = await self._match_rules(conn, [u for u, _ in usages])
            for i, (usage, _) in enumerate(usages):
                rule = ruled.get(i)
                if rule is not None:  # the operator's rule replaces the default consequence
                    seconds = await self._apply_rule(conn, usage, rule, locked)
                    if seconds:
                        cooldowns.append((usage.account_id, seconds))
                elif usage.outcome in ("credential_rejected", "exhausted"):
                    await self._change_status(conn, usage, locked)
            ignored = {i for i, rule in ruled.items() if rule.action == "ignore"}
            if usages:
                await self._egress_health(conn, [u for u, _ in usages])
                await self._count(conn, usages, ignored=ignored)
        if usages:
            unruled = [u for i, (u, _) in enumerate(usages) if i not in ruled]
            await self._cool_accounts(unruled)  # kept in memory while Redis is away
            await self._cool_ruled(cooldowns)
            try:
                await self._live_health(
                    [(u, i in ruled) for i, (u, _) in enumerate(usages) if i not in ignored]
                )
                await self._count_tokens(usages)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                log.warning("usage.health_skipped", count=len(usages), error=exc.__class__.__name__)

    async def _match_rules(
        self, conn: asyncpg.Connection, usages: list[UsageRecorded]
    ) -> tuple[dict[int, ErrorRule], dict[UUID, Account]]:
        """The error rule each failed attempt matches (by its position in `usages`), and the failed
        attempts' accounts, read and locked once for the batch (by id). The rules are read again only
        when they changed (error_rules/cache.py), the accounts only when there are rules."""
        failed = [i for i, u in enumerate(usages) if u.outcome not in _NEVER_RULED]
        if not failed:
            return {}, {}
        rules = await self._rules.current(conn)
        if not rules:
            return {}, {}
        found = await accounts.get_many_for_update(
            conn, account_ids=list({UUID(usages[i].account_id) for i in failed})
        )
        decided: dict[int, ErrorRule] = {}
        for i in failed:
            usage = usages[i]
            account = found.get(UUID(usage.account_id))
            if account is None:
                continue
            failure = RuleFailure(
                account_id=account.id,
                kind=account.kind,
                owner_id=account.owner_id,
                status=usage.status_code,
                excerpt=usage.error_excerpt or "",
            )
            rule = first_match(rules, failure)
            if rule is not None:
                decided[i] = rule
        return decided, found

    async def _apply_rule(
        self, conn: asyncpg.Connection, usage: UsageRecorded, rule: ErrorRule, locked: dict[UUID, Account]
    ) -> float | None:
        """`locked`: the batch's locked accounts, kept as this batch's earlier changes left them."""
        account_id = UUID(usage.account_id)
        locked[account_id], seconds = await error_rule.apply(
            conn, rule=rule, account=locked[account_id], status=usage.status_code, days=self._days
        )
        return seconds

    async def _cool_ruled(self, cooldowns: list[tuple[str, float]]) -> None:
        for account_id, seconds in cooldowns:
            await self._picker.cool_down(account_id, seconds)
            log.info("account.cooling", account_id=account_id, seconds=seconds, reason="error rule")

    async def _egress_health(self, conn: asyncpg.Connection, usages: list[UsageRecorded]) -> None:
        """A proxy that failed an attempt is unhealthy, with the error (announced when it turns so,
        proxies/health.py); one that carried a successful call (and failed none of the batch) is
        healthy again."""
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
            await proxy_health.record_health(conn, proxy_id=UUID(proxy_id), healthy=False, error=error)
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

    async def _live_health(self, usages: list[tuple[UsageRecorded, bool]]) -> None:
        """Each (usage, ruled): a failure a rule decided is a failure, never part of a server-error
        streak (the rule said what it means)."""
        cooled = await self._health.record(
            [
                (u.account_id, u.outcome == "success", u.outcome in outcomes.SERVER_ERRORS and not ruled)
                for u, ruled in usages
                if u.outcome not in outcomes.NEUTRAL or ruled
            ]
        )
        for account_id, seconds in cooled.items():
            log.info("account.cooling", account_id=account_id, seconds=seconds, reason="server errors")

    async def _change_status(
        self, conn: asyncpg.Connection, usage: UsageRecorded, locked: dict[UUID, Account]
    ) -> None:
        """`locked`: as in `_apply_rule`; an account not in it yet (no rules were read) is locked here."""
        account_id = UUID(usage.account_id)
        account = locked.get(account_id) or await accounts.get_for_update(conn, account_id=account_id)
        if account is None or account.status != "active":
            return  # deleted, or already taken out of the pool by an earlier event
        if usage.outcome == "exhausted":
            until = outcomes.exhausted_until(
                account, retry_after=usage.retry_after, now=self._days.now(), days=self._days
            )
            locked[account_id] = await change_status(
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
            locked[account_id] = await change_status(conn, account=account, status="invalid", reason=reason)
        await record(
            conn,
            AccountCredentialRejected(
                account_id=usage.account_id,
                kind=account.kind,
                status_code=usage.status_code or 0,
                reason=reason,
            ),
        )

    async def _count(
        self, conn: asyncpg.Connection, usages: list[tuple[UsageRecorded, datetime]], *, ignored: set[int]
    ) -> None:
        """`ignored`: the positions of failures an `ignore` rule matched; counted as calls, not failures."""
        per_account: dict[str, _Tally] = defaultdict(_Tally)
        per_key: dict[str, list] = defaultdict(lambda: [0, None])
        for i, (usage, at) in enumerate(usages):
            ok = None if i in ignored else usage.outcome == "success"
            per_account[usage.account_id].add(ok=ok, at=at, day=self._days.day_of(at))
            key = per_key[usage.api_key_id]
            key[0] += 1
            key[1] = max(key[1] or at, at)
        # The statements lock rows in the order given; in id order (as get_many_for_update locks), two
        # batches over the same accounts or keys queue for them rather than deadlock.
        by_account = sorted(((UUID(a), t) for a, t in per_account.items()), key=itemgetter(0))
        by_key = sorted(((UUID(k), t) for k, t in per_key.items()), key=itemgetter(0))
        await accounts.add_outcomes(
            conn,
            account_ids=[a for a, _ in by_account],
            successes=[t.successes for _, t in by_account],
            failures=[t.failures for _, t in by_account],
            last_used=[t.last_used for _, t in by_account],
            days=[t.day for _, t in by_account],
            day_calls=[t.day_calls for _, t in by_account],
            day_successes=[t.day_successes for _, t in by_account],
        )
        await keys.add_usage(
            conn,
            key_ids=[k for k, _ in by_key],
            counts=[t[0] for _, t in by_key],
            last_used=[t[1] for _, t in by_key],
        )
        await usage_rollups.add_hourly(conn, groups=roll_up(usages))
        await quota.store(conn, _latest_quotas(usages))


def _latest_quotas(usages: list[tuple[UsageRecorded, datetime]]) -> list[quota.QuotaReading]:
    """Each account's latest rate-limit reading of the batch (the headers of its answers)."""
    latest: dict[str, tuple[UsageRecorded, datetime]] = {}
    for usage, at in usages:
        if usage.quota_remaining is not None:
            seen = latest.get(usage.account_id)
            if seen is None or seen[1] <= at:
                latest[usage.account_id] = (usage, at)
    return [
        quota.QuotaReading(
            account_id=UUID(account_id),
            source="ratelimit_headers",
            remaining=min(1.0, max(0.0, usage.quota_remaining)),
            limit=1.0,
            resets_at=usage.quota_resets_at,
            read_at=at,
        )
        for account_id, (usage, at) in latest.items()
    ]


def _codes(usage: UsageRecorded) -> dict[str, int | None]:
    return {"status_code": usage.status_code, "upstream_code": usage.upstream_code}
