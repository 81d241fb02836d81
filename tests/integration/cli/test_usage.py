"""`poolgate usage` prints the hourly rollups' totals as a table, on a database of its own."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from services.account_service.usage import repository
from services.account_service.usage.rollup import roll_up
from shared.messages.contracts import UsageRecorded


async def _roll_up(dsn: str, calls: list[tuple[str, str, str, float, str]]) -> None:
    """(key id, user id, model, latency, outcome) calls an hour ago, through the consumer's upsert."""
    at = datetime.now(UTC) - timedelta(hours=1)
    usages = [
        (
            UsageRecorded(
                lease_id="l",
                account_id=str(uuid.uuid4()),
                api_key_id=key,
                user_id=user,
                model=model,
                outcome=outcome,
                latency_ms=latency,
                input_tokens=100,
            ),
            at,
        )
        for key, user, model, latency, outcome in calls
    ]
    conn = await asyncpg.connect(dsn)
    try:
        await repository.add_hourly(conn, groups=roll_up(usages))
    finally:
        await conn.close()


async def _key_id(dsn: str, name: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SELECT id FROM api_keys WHERE name = $1", name))
    finally:
        await conn.close()


def test_usage_prints_a_row_per_key_and_model_and_a_total(scratch_env, cli):
    user = cli("users", "create", "carol").strip()
    cli("keys", "create", "--user", "carol", "--name", "laptop")
    cli("keys", "create", "--user", "carol", "--name", "server")
    laptop, server = asyncio.run(_key_id(scratch_env, "laptop")), asyncio.run(_key_id(scratch_env, "server"))
    calls = [(laptop, user, "model-a", 200.0, "success")] * 3
    calls += [(server, user, "model-b", 200.0, "success"), (server, user, "model-b", 200.0, "timeout")]
    asyncio.run(_roll_up(scratch_env, calls))

    by_key = cli("usage", "--by", "key").splitlines()
    assert by_key[0].startswith("# usage by key, ")
    assert by_key[1].split() == [
        "KEY",
        "REQUESTS",
        "OK",
        "FAILED",
        "IN",
        "TOKENS",
        "OUT",
        "TOKENS",
        "IMAGES",
        "VIDEO",
        "S",
        "P50",
        "MS",
        "P95",
        "MS",
        "TTFB",
        "P50",
        "TTFB",
        "P95",
    ]
    # latencies of 200 ms land in the bucket of about 197 ms (within 9%)
    assert by_key[2].split() == ["laptop", "3", "3", "0", "300", "0", "0", "0", "197.4", "197.4", "-", "-"]
    assert by_key[3].split()[:4] == ["server", "2", "1", "1"]
    assert by_key[4].split()[:5] == ["TOTAL", "5", "4", "1", "500"]

    by_model = cli("usage", "--by", "model", "--since", "24h", "--limit", "1").splitlines()
    assert [line.split()[0] for line in by_model[2:]] == ["model-a", "(1", "TOTAL"]
    assert cli("usage", "--by", "user").splitlines()[2].split()[:2] == ["carol", "5"]
