"""`usage_hourly`: the consumer's one upsert per batch, the sums the API, CLI and console read, and
the retention's delete."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.account_service.usage import histogram
from services.account_service.usage.rollup import GroupKey, HourTally, array_literal

_UPSERT = """
INSERT INTO usage_hourly AS u (hour, api_key_id, account_id, model, user_id, requests, successes, outcomes,
    input_tokens, output_tokens, images, video_seconds, latency_hist, ttfb_hist)
SELECT r.hour, r.key_id, r.account_id, r.model, r.user_id, r.requests, r.successes, r.outcomes::int[],
    r.input_tokens, r.output_tokens, r.images, r.video_seconds, r.latency::int[], r.ttfb::int[]
FROM unnest($1::timestamptz[], $2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::int[], $7::int[],
    $8::text[], $9::bigint[], $10::bigint[], $11::int[], $12::float8[], $13::text[], $14::text[])
    AS r(hour, key_id, account_id, model, user_id, requests, successes, outcomes, input_tokens,
         output_tokens, images, video_seconds, latency, ttfb)
ON CONFLICT (hour, api_key_id, account_id, model) DO UPDATE SET
    requests = u.requests + excluded.requests,
    successes = u.successes + excluded.successes,
    outcomes = usage_add(u.outcomes, excluded.outcomes),
    input_tokens = u.input_tokens + excluded.input_tokens,
    output_tokens = u.output_tokens + excluded.output_tokens,
    images = u.images + excluded.images,
    video_seconds = u.video_seconds + excluded.video_seconds,
    latency_hist = usage_add(u.latency_hist, excluded.latency_hist),
    ttfb_hist = usage_add(u.ttfb_hist, excluded.ttfb_hist)
"""


async def add_hourly(conn: asyncpg.Connection, *, groups: dict[GroupKey, HourTally]) -> None:
    """One statement for the whole batch, whatever its size."""
    tallies = groups.values()
    await conn.execute(
        _UPSERT,
        [k[0] for k in groups],
        [k[1] for k in groups],
        [k[2] for k in groups],
        [k[3] for k in groups],
        [t.user_id for t in tallies],
        [t.requests for t in tallies],
        [t.successes for t in tallies],
        [array_literal(t.outcomes) for t in tallies],
        [t.input_tokens for t in tallies],
        [t.output_tokens for t in tallies],
        [t.images for t in tallies],
        [t.video_seconds for t in tallies],
        [array_literal(t.latency) for t in tallies],
        [array_literal(t.ttfb) for t in tallies],
    )


@dataclass(frozen=True, slots=True)
class Scope:
    """Which rows a reading sums: [since, until) and every condition given (None: any)."""

    since: datetime
    until: datetime
    user_id: UUID | None = None  # calls made with this user's keys
    key_id: UUID | None = None
    account_id: UUID | None = None
    model: str | None = None
    accounts_of: UUID | None = None  # calls served by accounts this user owns


@dataclass(slots=True)
class Sums:
    requests: int = 0
    successes: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    video_seconds: float = 0.0
    outcomes: list[int] = field(default_factory=list)
    latency: list[int] = field(default_factory=list)
    ttfb: list[int] = field(default_factory=list)

    def merge(self, other: Sums) -> Sums:
        self.requests += other.requests
        self.successes += other.successes
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.images += other.images
        self.video_seconds += other.video_seconds
        for mine, theirs in (
            (self.outcomes, other.outcomes),
            (self.latency, other.latency),
            (self.ttfb, other.ttfb),
        ):
            histogram.add(mine, theirs)
        return self


# What a reading can be grouped by: fixed SQL, never the caller's text.
GROUPS = {
    "key": "api_key_id",
    "account": "account_id",
    "model": "model",
    "user": "user_id",
    "hour": "hour",
    "all": "true",
}

_WHERE = """hour >= $1 AND hour < $2
    AND ($3::uuid IS NULL OR user_id = $3)
    AND ($4::uuid IS NULL OR api_key_id = $4)
    AND ($5::uuid IS NULL OR account_id = $5)
    AND ($6::text IS NULL OR model = $6)
    AND ($7::uuid IS NULL OR account_id IN (SELECT id FROM accounts WHERE owner_id = $7))"""

_ARRAYS = {0: "outcomes", 1: "latency", 2: "ttfb"}


def _args(scope: Scope) -> list[Any]:
    return [
        scope.since,
        scope.until,
        scope.user_id,
        scope.key_id,
        scope.account_id,
        scope.model,
        scope.accounts_of,
    ]


async def sums(conn: asyncpg.Connection, *, by: str, scope: Scope) -> dict[Any, Sums]:
    """The rows of `scope` summed per `by` (a key of GROUPS): two scans, one for the numbers and one
    for the count arrays, each summed element-wise by unnest ... GROUP BY."""
    group = GROUPS[by]
    found: dict[Any, Sums] = {}
    rows = await conn.fetch(
        f"SELECT {group} AS g, sum(requests)::bigint AS requests, sum(successes)::bigint AS successes,"
        " sum(input_tokens)::bigint AS input_tokens, sum(output_tokens)::bigint AS output_tokens,"
        " sum(images)::bigint AS images, sum(video_seconds) AS video_seconds"
        f" FROM usage_hourly WHERE {_WHERE} GROUP BY 1",
        *_args(scope),
    )
    for row in rows:
        found[row["g"]] = Sums(**{k: v for k, v in row.items() if k != "g"})
    if not found:
        return found
    cells = await conn.fetch(
        f"SELECT {group} AS g, x.a, x.i, sum(x.v)::bigint AS n FROM usage_hourly u,"
        " LATERAL (SELECT 0 AS a, i, v FROM unnest(u.outcomes) WITH ORDINALITY AS o(v, i)"
        " UNION ALL SELECT 1, i, v FROM unnest(u.latency_hist) WITH ORDINALITY AS o(v, i)"
        " UNION ALL SELECT 2, i, v FROM unnest(u.ttfb_hist) WITH ORDINALITY AS o(v, i)) AS x"
        f" WHERE x.v <> 0 AND {_WHERE} GROUP BY 1, 2, 3",
        *_args(scope),
    )
    for g, a, i, n in cells:
        counts = getattr(found[g], _ARRAYS[a])
        if len(counts) < i:
            counts.extend([0] * (i - len(counts)))
        counts[i - 1] = n
    return found


async def hourly_requests(
    conn: asyncpg.Connection, *, account_ids: list[UUID], since: datetime
) -> dict[UUID, dict[datetime, int]]:
    """Calls per hour since `since` of each account (hours without calls left out)."""
    rows = await conn.fetch(
        "SELECT account_id, hour, sum(requests)::bigint AS n FROM usage_hourly"
        " WHERE account_id = ANY($1::uuid[]) AND hour >= $2 GROUP BY 1, 2",
        account_ids,
        since,
    )
    found: dict[UUID, dict[datetime, int]] = {}
    for row in rows:
        found.setdefault(row["account_id"], {})[row["hour"]] = row["n"]
    return found


async def key_names(conn: asyncpg.Connection, *, key_ids: list[UUID]) -> dict[UUID, str]:
    """Each key's name, or its prefix when it has none (deleted keys are left out)."""
    rows = await conn.fetch(
        "SELECT id, coalesce(name, prefix) AS label FROM api_keys WHERE id = ANY($1::uuid[])", key_ids
    )
    return {row["id"]: row["label"] for row in rows}


async def account_names(conn: asyncpg.Connection, *, account_ids: list[UUID]) -> dict[UUID, str]:
    rows = await conn.fetch("SELECT id, name FROM accounts WHERE id = ANY($1::uuid[])", account_ids)
    return {row["id"]: row["name"] for row in rows}


async def delete_before(conn: asyncpg.Connection, *, before: datetime) -> int:
    """Deletes the rows of hours before `before`; returns how many."""
    status = await conn.execute("DELETE FROM usage_hourly WHERE hour < $1", before)
    return int(status.rsplit(" ", 1)[1])
