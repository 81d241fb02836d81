"""`poolgate usage` prints the hourly rollups' totals as a table, on a database of its own."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.account_service.migrations import migrate
from services.account_service.settings import get_settings
from services.account_service.usage import repository
from services.account_service.usage.rollup import roll_up
from services.cli import main
from shared.messages.contracts import UsageRecorded


@pytest.fixture
def dsn(infra, monkeypatch):
    name = f"{infra.database}_usage_{uuid.uuid4().hex[:6]}"
    dsn = f"{infra.postgres_url}/{name}"
    asyncio.run(migrate(dsn))
    for k, v in infra.env(POOLGATE_DATABASE_URL=dsn).items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    yield dsn
    get_settings.cache_clear()

    async def drop():
        admin = await asyncpg.connect(f"{infra.postgres_url}/postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(drop())


def _cli(capsys, *args: str) -> str:
    get_settings.cache_clear()
    with contextlib.redirect_stderr(sys.__stderr__):  # logging keeps the real stderr (conftest.py)
        assert main(list(args)) == 0
    return capsys.readouterr().out


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


def test_usage_prints_a_row_per_key_and_model_and_a_total(dsn, capsys):
    user = _cli(capsys, "users", "create", "carol").strip()
    _cli(capsys, "keys", "create", "--user", "carol", "--name", "laptop")
    _cli(capsys, "keys", "create", "--user", "carol", "--name", "server")
    laptop, server = asyncio.run(_key_id(dsn, "laptop")), asyncio.run(_key_id(dsn, "server"))
    calls = [(laptop, user, "model-a", 200.0, "success")] * 3
    calls += [(server, user, "model-b", 200.0, "success"), (server, user, "model-b", 200.0, "timeout")]
    asyncio.run(_roll_up(dsn, calls))

    by_key = _cli(capsys, "usage", "--by", "key").splitlines()
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

    by_model = _cli(capsys, "usage", "--by", "model", "--since", "24h", "--limit", "1").splitlines()
    assert [line.split()[0] for line in by_model[2:]] == ["model-a", "(1", "TOTAL"]
    assert _cli(capsys, "usage", "--by", "user").splitlines()[2].split()[:2] == ["carol", "5"]
