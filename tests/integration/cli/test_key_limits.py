"""`poolgate keys create` and `poolgate keys limits` set a key's limits through the keys service, as
the API does: validated, stored, and announced as `api_key.changed` through the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import io

import asyncpg
import orjson

from services.account_service.keys.hashing import key_hash
from services.account_service.settings import get_settings
from services.cli import main


async def _fetch(dsn: str, sql: str, *args):
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow(sql, *args)
    finally:
        await conn.close()


def _fails(*args: str) -> str:
    """What the CLI printed on stderr, refusing the command."""
    get_settings.cache_clear()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(list(args)) == 1
    return err.getvalue()


def test_limits_are_set_at_creation_and_changed_later(scratch_env, cli) -> None:
    cli("users", "create", "limited")
    plaintext = cli(
        "keys",
        "create",
        "--user",
        "limited",
        "--rpm",
        "60",
        "--concurrency",
        "2",
        "--models",
        "gpt-4o,claude-*",
    )
    row = asyncio.run(_fetch(scratch_env, "SELECT * FROM api_keys WHERE key_hash = $1", key_hash(plaintext)))
    assert (row["requests_per_minute"], row["concurrency"], row["tokens_per_day"]) == (60, 2, None)
    assert row["allowed_models"] == ["gpt-4o", "claude-*"]

    shown = orjson.loads(
        cli(
            "keys",
            "limits",
            str(row["id"]),
            "--rpm",
            "default",
            "--tokens-per-day",
            "5000",
            "--models",
            "",
        )
    )
    assert shown == {
        "requests_per_minute": None,
        "concurrency": 2,
        "tokens_per_day": 5000,
        "allowed_models": None,
    }
    changed = asyncio.run(
        _fetch(scratch_env, "SELECT count(*) AS n FROM outbox WHERE type = 'api_key.changed'")
    )
    assert changed["n"] == 2  # created, then changed


def test_a_bad_limit_is_refused_naming_it(scratch_env, cli) -> None:
    cli("users", "create", "careless")
    assert "concurrency" in _fails("keys", "create", "--user", "careless", "--concurrency", "0")
    assert "key_id" in _fails("keys", "limits", "not-a-key", "--rpm", "5")
    assert "no such API key" in _fails("keys", "limits", "00000000-0000-0000-0000-000000000000")
