"""Reading usage: whose calls a caller may see, the time window, totals per group and series.

An admin sees every call (`user` narrows to one user's calls). Anyone else sees the calls made with
their own keys, and per account (`by=account`, `account_id`) every call their own accounts served,
whoever made it; a key or account of someone else's is as missing as an unknown one."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from services.account_service.accounts import repository as accounts
from services.account_service.keys import repository as keys
from services.account_service.usage import repository
from services.account_service.usage.repository import Scope, Sums
from services.account_service.usage.rollup import hour_of
from services.account_service.usage.schemas import (
    UsageGroup,
    UsagePoint,
    UsageReport,
    UsageSeries,
    UsageTotals,
)
from services.account_service.users import repository as users
from services.account_service.users.schemas import Actor
from services.account_service.users.service import resolve_owner
from shared.day_boundary import DayBoundary
from shared.errors import Forbidden, NotFound, Unprocessable

MAX_POINTS = 2400  # 100 days of hours; a longer series is asked for by day
_AGO = re.compile(r"([1-9][0-9]{0,4})([hd])")
_HOUR = timedelta(hours=1)


def parse_since(text: str, *, now: datetime) -> datetime:
    """`7d`, `24h` (before `now`) or an ISO 8601 time (UTC unless it says otherwise)."""
    text = text.strip()
    if match := _AGO.fullmatch(text):
        n = int(match[1])
        return now - (timedelta(hours=n) if match[2] == "h" else timedelta(days=n))
    try:
        moment = datetime.fromisoformat(text)
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset that leaves years 1-9999 in UTC
        raise Unprocessable(
            "since: a number of hours or days (24h, 7d) or an ISO 8601 time", param="since"
        ) from None


async def _scope(
    conn: asyncpg.Connection,
    actor: Actor,
    *,
    by: str | None,
    since: datetime,
    until: datetime,
    user: str | None,
    key_id: UUID | None,
    account_id: UUID | None,
    model: str | None,
) -> Scope:
    if by == "user" and not actor.is_admin:
        raise Forbidden("only admins may group usage by user", param="by")
    user_id = None
    if user is not None:
        try:
            user_id = (await resolve_owner(conn, actor=actor, username=user, param="user")).id
        except NotFound as exc:
            raise NotFound(exc.message, param="user") from None
    if key_id is not None and not actor.is_admin:
        key = await keys.get(conn, key_id=key_id)
        if key is None or key.user_id != actor.user_id:
            raise NotFound("no such API key", param="key_id")
    if account_id is not None and not actor.is_admin:
        account = await accounts.get(conn, account_id=account_id)
        if account is None or account.owner_id != actor.user_id:
            raise NotFound("no such account", param="account_id")
    accounts_of = None
    if not actor.is_admin:
        if by == "account" and account_id is None:
            accounts_of = actor.user_id  # every call your accounts served
        elif by == "key" or account_id is None:
            user_id = actor.user_id  # the calls made with your keys
    return Scope(
        since=since,
        until=until,
        user_id=user_id,
        key_id=key_id,
        account_id=account_id,
        model=model,
        accounts_of=accounts_of,
    )


async def report(
    conn: asyncpg.Connection,
    *,
    actor: Actor,
    by: str,
    since: datetime,
    now: datetime,
    limit: int,
    user: str | None = None,
    key_id: UUID | None = None,
    account_id: UUID | None = None,
    model: str | None = None,
) -> UsageReport:
    """Totals per key, account, model or user, most requests first."""
    start, until = hour_of(since), hour_of(now) + _HOUR
    scope = await _scope(
        conn,
        actor,
        by=by,
        since=start,
        until=until,
        user=user,
        key_id=key_id,
        account_id=account_id,
        model=model,
    )
    found = await repository.sums(conn, by=by, scope=scope)
    total = Sums()
    for sums in found.values():
        total.merge(sums)
    ranked = sorted(found.items(), key=lambda item: (-item[1].requests, str(item[0])))
    shown = ranked[:limit]
    names = await _names(conn, by, [g for g, _ in shown])
    groups = [UsageGroup(id=str(g), name=names.get(g), **UsageTotals.fields_of(sums)) for g, sums in shown]
    return UsageReport(
        by=by,
        since=start,
        until=until,
        groups=groups,
        more=len(ranked) - len(shown),
        total=UsageTotals.of(total),
    )


async def _names(conn: asyncpg.Connection, by: str, ids: list) -> dict:
    match by:
        case "key":
            return await repository.key_names(conn, key_ids=ids)
        case "account":
            return await repository.account_names(conn, account_ids=ids)
        case "user":
            return await users.usernames(conn, user_ids=ids)
    return {model: model for model in ids}


async def series(
    conn: asyncpg.Connection,
    *,
    actor: Actor,
    bucket: str,
    since: datetime,
    days: DayBoundary,
    user: str | None = None,
    key_id: UUID | None = None,
    account_id: UUID | None = None,
    model: str | None = None,
) -> UsageSeries:
    """Totals per hour or per day (the configured day: POOLGATE_TIMEZONE, POOLGATE_DAY_STARTS_AT),
    empty buckets included."""
    now = days.now()
    starts = _starts(bucket, since, now, days)
    start = starts[0] if starts else hour_of(since)
    until = hour_of(now) + _HOUR
    scope = await _scope(
        conn,
        actor,
        by=None,
        since=start,
        until=until,
        user=user,
        key_id=key_id,
        account_id=account_id,
        model=model,
    )
    per_hour = await repository.sums(conn, by="hour", scope=scope)
    points = {moment: Sums() for moment in starts}
    for hour, sums in per_hour.items():
        key = hour if bucket == "hour" else days.start_of(days.day_of(hour))
        if key in points:
            points[key].merge(sums)
    return UsageSeries(
        bucket=bucket,
        since=start,
        until=until,
        points=[UsagePoint(start=moment, **UsageTotals.fields_of(sums)) for moment, sums in points.items()],
    )


def _starts(bucket: str, since: datetime, now: datetime, days: DayBoundary) -> list[datetime]:
    """The start of every bucket from the one `since` falls in to the one `now` falls in."""
    span = (now - since) / (_HOUR if bucket == "hour" else timedelta(days=1))
    if span > MAX_POINTS:  # before any date arithmetic: `since` may be centuries ago
        raise Unprocessable(
            f"since: a series has at most {MAX_POINTS} points; ask for a shorter one or bucket=day",
            param="since",
        )
    if since > now:
        return []  # before any date arithmetic too: a local time may be past year 9999
    if bucket == "hour":
        first = hour_of(since)
        return [first + n * _HOUR for n in range(int((hour_of(now) - first) / _HOUR) + 1)]
    first, last = days.day_of(since), days.day_of(now)
    return [days.start_of(first + timedelta(days=n)) for n in range((last - first).days + 1)]


async def sparklines(
    conn: asyncpg.Connection, *, account_ids: list[UUID], now: datetime, hours: int = 24
) -> dict[UUID, list[int]]:
    """Calls per hour over the last `hours` (oldest first, this hour last) of each account that had
    any; the caller has checked that it may see the accounts."""
    first = hour_of(now) - (hours - 1) * _HOUR
    found = await repository.hourly_requests(conn, account_ids=account_ids, since=first)
    return {
        account_id: [per_hour.get(first + n * _HOUR, 0) for n in range(hours)]
        for account_id, per_hour in found.items()
    }
