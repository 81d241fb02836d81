"""`poolgate secrets rotate` re-encrypts every account's secrets with the newest key, in batches,
and the admin commands keep working through the same service functions as the API."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid

import asyncpg
import orjson
import pytest

from services.account_service.migrations import migrate
from services.account_service.settings import get_settings
from services.cli import main
from shared.crypto import InvalidToken, SecretBox, generate_key


@pytest.fixture
def scratch_env(infra, monkeypatch):
    name = f"{infra.database}_rot_{uuid.uuid4().hex[:6]}"
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
    # The CLI configures logging with the current stderr; keep it off pytest's per-test capture.
    with contextlib.redirect_stderr(sys.__stderr__):
        assert main(list(args)) == 0
    return capsys.readouterr().out.strip()


async def _tokens(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["secrets"] for r in await conn.fetch("SELECT secrets FROM accounts ORDER BY id")]
    finally:
        await conn.close()


def test_rotation_re_encrypts_every_account_with_the_newest_key(scratch_env, capsys, monkeypatch):
    old, new = generate_key(), generate_key()
    monkeypatch.setenv("POOLGATE_SECRET_KEYS", old)
    _cli(capsys, "users", "create", "rotor")
    assert _cli(capsys, "keys", "create", "--user", "rotor").startswith("pg-")
    for n in range(5):
        _cli(
            capsys,
            "accounts",
            "add-custom",
            "--user",
            "rotor",
            "--api-base",
            "https://api.example.com",
            "--api-key",
            f"sk-rotate-{n:04d}",
            "--format",
            "openai",
        )
    before = asyncio.run(_tokens(scratch_env))
    assert len(before) == 5

    monkeypatch.setenv("POOLGATE_SECRET_KEYS", f"{new},{old}")
    assert _cli(capsys, "secrets", "rotate", "--batch-size", "2") == "rotated 5 account(s)"

    after = asyncio.run(_tokens(scratch_env))
    only_new = SecretBox(new)
    assert sorted(orjson.loads(only_new.decrypt(t))["api_key"] for t in after) == [
        f"sk-rotate-{n:04d}" for n in range(5)
    ]
    with pytest.raises(InvalidToken):
        only_new.decrypt(before[0])
    with pytest.raises(InvalidToken):
        SecretBox(old).decrypt(after[0])
