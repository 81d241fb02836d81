from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.account_service.accounts.schemas import Account

_COLUMNS = (
    "id, owner_id, kind, name, visibility, status, status_reason, status_changed_at, status_until, weight,"
    " max_concurrency, region, credential_expires_at, settings, secrets, success_count, fail_count,"
    " last_used_at, created_at, updated_at, last_check_at, last_check_ok, last_check_kind, last_check_reason,"
    " credits, credits_read_at, calls_day, calls_today, calls_today_ok, probe_enabled, probe_interval_s,"
    " last_error, last_error_at, quota_source, quota_remaining, quota_limit, quota_resets_at,"
    " quota_runs_out_at, quota_updated_at,"
    " egress_proxy_id,"
    # The account's egress proxy as its traffic needs it (password still encrypted).
    " (SELECT jsonb_build_object('id', p.id, 'name', p.name, 'scheme', p.scheme, 'host', p.host,"
    " 'port', p.port, 'username', p.username, 'password', p.password, 'healthy', p.healthy,"
    " 'last_error', p.last_error) FROM egress_proxies p WHERE p.id = accounts.egress_proxy_id)"
    " AS egress_proxy"
)
# Every filter is optional: a NULL parameter matches everything, so the statement is always the same.
_FILTER = (
    "($1::uuid IS NULL OR owner_id = $1) AND ($2::text IS NULL OR kind = $2)"
    " AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR region = $4)"
    " AND ($5::text IS NULL OR visibility = $5)"
)


# The orders a list may be sorted in (the API's and the console's `sort`; `-key` is descending). Every
# order ends with `id`, so pages never overlap or skip a row when values tie.
SORTS = {
    "created": "created_at",
    "name": "lower(name)",
    "status": "status",
    "region": "region",
    "weight": "weight",
    "successes": "success_count",
    "failures": "fail_count",
    "last_used": "last_used_at",
    "expires": "credential_expires_at",
    "credits": "credits",
    "last_check": "last_check_at",
    "quota": "quota_remaining / quota_limit",
}
DEFAULT_SORT = "-created"


def _order(sort: str) -> str:
    column = SORTS[sort.removeprefix("-")]
    direction = "DESC NULLS LAST" if sort.startswith("-") else "ASC NULLS LAST"
    return f"{column} {direction}, id"


@dataclass(frozen=True, slots=True)
class EncryptedSecrets:
    account_id: UUID
    token: str


async def insert(
    conn: asyncpg.Connection,
    *,
    owner_id: UUID,
    kind: str,
    name: str,
    visibility: str,
    status: str,
    weight: int,
    max_concurrency: int,
    settings: dict[str, Any],
    secrets: str,
    region: str | None = None,
    credential_expires_at: datetime | None = None,
) -> Account:
    row = await conn.fetchrow(
        "INSERT INTO accounts (owner_id, kind, name, visibility, status, weight, max_concurrency, settings,"
        " secrets, region, credential_expires_at)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {_COLUMNS}",
        owner_id,
        kind,
        name,
        visibility,
        status,
        weight,
        max_concurrency,
        settings,
        secrets,
        region,
        credential_expires_at,
    )
    return Account(**row)


async def get(conn: asyncpg.Connection | asyncpg.Pool, *, account_id: UUID) -> Account | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM accounts WHERE id = $1", account_id)
    return Account(**row) if row else None


async def get_for_update(conn: asyncpg.Connection, *, account_id: UUID) -> Account | None:
    """The account, locked until the transaction ends, so two changes to it cannot interleave."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM accounts WHERE id = $1 FOR UPDATE", account_id)
    return Account(**row) if row else None


async def get_many(conn: asyncpg.Connection, *, account_ids: Sequence[UUID]) -> dict[UUID, Account]:
    """The accounts of `account_ids` that exist, by id."""
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM accounts WHERE id = ANY($1::uuid[])", account_ids)
    return {r["id"]: Account(**r) for r in rows}


async def get_many_for_update(
    conn: asyncpg.Connection, *, account_ids: Sequence[UUID]
) -> dict[UUID, Account]:
    """The accounts of `account_ids` that exist, by id, locked until the transaction ends. Rows are
    locked in id order, so two transactions locking overlapping sets queue rather than deadlock on them."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", account_ids
    )
    return {r["id"]: Account(**r) for r in rows}


async def set_last_error(conn: asyncpg.Connection, *, account_id: UUID, error: str) -> None:
    """The last upstream error an error rule named for the account (error_rules), and when."""
    await conn.execute(
        "UPDATE accounts SET last_error = $2, last_error_at = now() WHERE id = $1", account_id, error
    )


async def list_active(conn: asyncpg.Connection | asyncpg.Pool) -> list[Account]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM accounts WHERE status = 'active'")
    return [Account(**r) for r in rows]


async def search(
    conn: asyncpg.Connection,
    *,
    owner_id: UUID | None = None,
    kind: str | None = None,
    status: str | None = None,
    region: str | None = None,
    visibility: str | None = None,
    sort: str = DEFAULT_SORT,
    limit: int,
    offset: int,
) -> tuple[list[Account], int]:
    """One page of matching accounts in the `sort` order (a key of SORTS), and how many match in all."""
    args = (owner_id, kind, status, region, visibility)
    total = await conn.fetchval(f"SELECT count(*) FROM accounts WHERE {_FILTER}", *args)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM accounts WHERE {_FILTER} ORDER BY {_order(sort)} LIMIT $6 OFFSET $7",
        *args,
        limit,
        offset,
    )
    return [Account(**r) for r in rows], total


async def list_of_kind(conn: asyncpg.Connection, *, kind: str, owner_id: UUID | None = None) -> list[Account]:
    """Every account of a kind (of one owner), oldest first: the order an export is written in."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM accounts WHERE kind = $1 AND ($2::uuid IS NULL OR owner_id = $2)"
        " ORDER BY created_at, id",
        kind,
        owner_id,
    )
    return [Account(**r) for r in rows]


async def update(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    name: str,
    visibility: str,
    weight: int,
    max_concurrency: int,
    region: str | None,
    settings: dict[str, Any],
    secrets: str,
    credential_expires_at: datetime | None,
) -> Account:
    row = await conn.fetchrow(
        "UPDATE accounts SET name = $2, visibility = $3, weight = $4, max_concurrency = $5, region = $6,"
        " settings = $7, secrets = $8, credential_expires_at = $9, updated_at = now()"
        f" WHERE id = $1 RETURNING {_COLUMNS}",
        account_id,
        name,
        visibility,
        weight,
        max_concurrency,
        region,
        settings,
        secrets,
        credential_expires_at,
    )
    return Account(**row)


async def set_status(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    status: str,
    reason: str | None,
    until: datetime | None = None,
) -> Account:
    row = await conn.fetchrow(
        "UPDATE accounts SET status = $2, status_reason = $3, status_until = $4, status_changed_at = now(),"
        f" updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
        account_id,
        status,
        reason,
        until,
    )
    return Account(**row)


async def set_check(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    kind: str,
    ok: bool,
    reason: str | None,
    checked_at: datetime,
    credits: int | None,
    credits_read_at: datetime | None,
) -> None:
    """The last credential check; the credits only when this check read them."""
    await conn.execute(
        "UPDATE accounts SET last_check_at = $2, last_check_ok = $3, last_check_kind = $4,"
        " last_check_reason = $5, credits = CASE WHEN $7::timestamptz IS NULL THEN credits ELSE $6 END,"
        " credits_read_at = COALESCE($7, credits_read_at) WHERE id = $1",
        account_id,
        checked_at,
        ok,
        kind,
        reason,
        credits,
        credits_read_at,
    )


async def delete(conn: asyncpg.Connection, *, account_id: UUID) -> bool:
    return await conn.fetchval("DELETE FROM accounts WHERE id = $1 RETURNING true", account_id) or False


async def due_for_refresh(
    conn: asyncpg.Connection, *, kiro_before: datetime, dreamina_before: datetime
) -> list[Account]:
    """Accounts whose credential expires before the kind's horizon; Dreamina only if it can log in."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM accounts WHERE status NOT IN ('disabled', 'invalid')"
        " AND ((kind = 'kiro' AND credential_expires_at < $1)"
        "   OR (kind = 'dreamina' AND credential_expires_at < $2 AND (settings->>'can_login')::boolean))",
        kiro_before,
        dreamina_before,
    )
    return [Account(**r) for r in rows]


async def dreamina_in_pool(conn: asyncpg.Connection) -> list[Account]:
    """Every Dreamina account a revalidation applies to: all but the disabled and invalid ones."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM accounts WHERE kind = 'dreamina' AND status NOT IN ('disabled', 'invalid')"
    )
    return [Account(**r) for r in rows]


async def reactivate_exhausted(conn: asyncpg.Connection, *, now: datetime) -> list[Account]:
    """`exhausted` accounts whose reset time has come become `active` again."""
    rows = await conn.fetch(
        "UPDATE accounts SET status = 'active', status_reason = 'quota reset time reached',"
        " status_until = NULL, status_changed_at = now(), updated_at = now()"
        f" WHERE status = 'exhausted' AND status_until <= $1 RETURNING {_COLUMNS}",
        now,
    )
    return [Account(**r) for r in rows]


async def secrets_after(
    conn: asyncpg.Connection, *, after: UUID | None, limit: int
) -> list[EncryptedSecrets]:
    """The next batch of encrypted secrets in id order (for re-encryption)."""
    rows = await conn.fetch(
        "SELECT id, secrets FROM accounts WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2",
        after,
        limit,
    )
    return [EncryptedSecrets(account_id=r["id"], token=r["secrets"]) for r in rows]


async def replace_secrets(
    conn: asyncpg.Connection, *, account_ids: Sequence[UUID], old: Sequence[str], new: Sequence[str]
) -> int:
    """Swap each token only if it is still the one that was read (a concurrent change wins)."""
    result = await conn.execute(
        "UPDATE accounts a SET secrets = u.new"
        " FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(id, old, new)"
        " WHERE a.id = u.id AND a.secrets = u.old",
        account_ids,
        old,
        new,
    )
    return int(result.split()[-1])


async def add_outcomes(
    conn: asyncpg.Connection,
    *,
    account_ids: Sequence[UUID],
    successes: Sequence[int],
    failures: Sequence[int],
    last_used: Sequence[datetime],
    days: Sequence[date],
    day_calls: Sequence[int],
    day_successes: Sequence[int],
) -> None:
    """Apply a batch of counted outcomes in one statement. Today's calls: calls of the day the account
    counts in are added; calls of a later day start the count again; calls of an earlier day (late
    deliveries after the day changed) are left out of it."""
    await conn.execute(
        "UPDATE accounts a SET success_count = a.success_count + u.ok, fail_count = a.fail_count + u.failed,"
        " last_used_at = GREATEST(a.last_used_at, u.at),"
        " calls_today = CASE WHEN a.calls_day = u.day THEN a.calls_today + u.calls"
        "   WHEN a.calls_day > u.day THEN a.calls_today ELSE u.calls END,"
        " calls_today_ok = CASE WHEN a.calls_day = u.day THEN a.calls_today_ok + u.calls_ok"
        "   WHEN a.calls_day > u.day THEN a.calls_today_ok ELSE u.calls_ok END,"
        " calls_day = GREATEST(a.calls_day, u.day)"
        " FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::date[], $6::integer[],"
        "   $7::integer[]) AS u(id, ok, failed, at, day, calls, calls_ok)"
        " WHERE a.id = u.id",
        account_ids,
        successes,
        failures,
        last_used,
        days,
        day_calls,
        day_successes,
    )


async def summary(conn: asyncpg.Connection, *, owner_id: UUID | None, day: date) -> list[asyncpg.Record]:
    """Accounts per kind and status (of one owner, or everyone's), with `day`'s calls and failures."""
    return await conn.fetch(
        "SELECT kind, status, count(*) AS accounts,"
        " coalesce(sum(calls_today) FILTER (WHERE calls_day = $2), 0) AS calls,"
        " coalesce(sum(calls_today - calls_today_ok) FILTER (WHERE calls_day = $2), 0) AS failures"
        " FROM accounts WHERE ($1::uuid IS NULL OR owner_id = $1) GROUP BY kind, status",
        owner_id,
        day,
    )


async def needing_attention(conn: asyncpg.Connection, *, owner_id: UUID | None, limit: int) -> list[Account]:
    """Accounts that cannot serve and will not come back by themselves: invalid, exhausted, and
    pending ones, most recently changed first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM accounts WHERE ($1::uuid IS NULL OR owner_id = $1)"
        " AND status IN ('invalid', 'exhausted', 'pending') ORDER BY status_changed_at DESC LIMIT $2",
        owner_id,
        limit,
    )
    return [Account(**r) for r in rows]


async def active_kinds(conn: asyncpg.Connection, *, owner_id: UUID | None) -> dict[UUID, str]:
    """The kind of every active account (of one owner, or everyone's), by id."""
    rows = await conn.fetch(
        "SELECT id, kind FROM accounts WHERE status = 'active' AND ($1::uuid IS NULL OR owner_id = $1)",
        owner_id,
    )
    return {r["id"]: r["kind"] for r in rows}


async def pool_accounts(conn: asyncpg.Connection, *, owner_id: UUID | None, public: bool) -> list[Account]:
    """Every account, any status, of a pool: one owner's (and everyone's public ones when `public`),
    or everyone's (`owner_id` None)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM accounts WHERE $1::uuid IS NULL OR owner_id = $1"
        " OR ($2 AND visibility = 'public')",
        owner_id,
        public,
    )
    return [Account(**r) for r in rows]


@dataclass(frozen=True, slots=True)
class QuotaChange:
    """One account's quota reading before and after `set_quotas`."""

    account_id: UUID
    kind: str
    before: tuple[
        float | None, float | None, datetime | None, datetime | None
    ]  # remaining, limit, resets, runs out
    after: tuple[float | None, float | None, datetime | None, datetime | None]


async def set_quotas(
    conn: asyncpg.Connection,
    *,
    account_ids: Sequence[UUID],
    sources: Sequence[str],
    remaining: Sequence[float],
    limits: Sequence[float | None],
    resets_at: Sequence[datetime | None],
    read_at: Sequence[datetime],
) -> list[QuotaChange]:
    """Store a batch of quota readings in one statement (a reading older than the stored one is left
    out). A limit of NULL keeps the most the account has held (Dreamina's credits have no stated
    limit). The pace since the last reading of the same source projects when it runs out: a drop
    projects it, a rise (a reset) clears it, no change keeps it."""
    rows = await conn.fetch(
        "UPDATE accounts a SET quota_source = u.source, quota_remaining = u.remaining,"
        " quota_limit = COALESCE(u.lim, GREATEST(CASE WHEN o.quota_source = u.source THEN o.quota_limit END,"
        "   u.remaining, 1)),"
        " quota_resets_at = u.resets_at, quota_updated_at = u.at,"
        " quota_runs_out_at = CASE"
        "   WHEN o.quota_source IS DISTINCT FROM u.source OR o.quota_updated_at IS NULL THEN NULL"
        "   WHEN o.quota_remaining > u.remaining AND u.at > o.quota_updated_at"
        "     THEN u.at + make_interval(secs => u.remaining"
        "       * extract(epoch FROM u.at - o.quota_updated_at) / (o.quota_remaining - u.remaining))"
        "   WHEN o.quota_remaining < u.remaining THEN NULL"
        "   ELSE o.quota_runs_out_at END"
        " FROM unnest($1::uuid[], $2::text[], $3::float8[], $4::float8[], $5::timestamptz[],"
        "   $6::timestamptz[]) AS u(id, source, remaining, lim, resets_at, at), accounts o"
        " WHERE a.id = u.id AND o.id = u.id AND (o.quota_updated_at IS NULL OR o.quota_updated_at <= u.at)"
        " RETURNING a.id, a.kind, o.quota_remaining AS old_remaining, o.quota_limit AS old_limit,"
        "   o.quota_resets_at AS old_resets_at, o.quota_runs_out_at AS old_runs_out_at, a.quota_remaining,"
        "   a.quota_limit, a.quota_resets_at, a.quota_runs_out_at",
        account_ids,
        sources,
        remaining,
        limits,
        resets_at,
        read_at,
    )
    return [
        QuotaChange(
            r["id"],
            r["kind"],
            (r["old_remaining"], r["old_limit"], r["old_resets_at"], r["old_runs_out_at"]),
            (r["quota_remaining"], r["quota_limit"], r["quota_resets_at"], r["quota_runs_out_at"]),
        )
        for r in rows
    ]
