"""`poolgate secrets rotate` re-encrypts every account's secrets with the newest key, in batches,
and the admin commands keep working through the same service functions as the API."""

from __future__ import annotations

import asyncio

import asyncpg
import orjson
import pytest

from shared.crypto import InvalidToken, SecretBox, generate_key


async def _tokens(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["secrets"] for r in await conn.fetch("SELECT secrets FROM accounts ORDER BY id")]
    finally:
        await conn.close()


def test_rotation_re_encrypts_every_account_with_the_newest_key(scratch_env, cli, monkeypatch):
    old, new = generate_key(), generate_key()
    monkeypatch.setenv("POOLGATE_SECRET_KEYS", old)
    cli("users", "create", "rotor")
    assert cli("keys", "create", "--user", "rotor").startswith("pg-")
    for n in range(5):
        cli(
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
    assert cli("secrets", "rotate", "--batch-size", "2") == "rotated 5 account(s)"

    after = asyncio.run(_tokens(scratch_env))
    only_new = SecretBox(new)
    assert sorted(orjson.loads(only_new.decrypt(t))["api_key"] for t in after) == [
        f"sk-rotate-{n:04d}" for n in range(5)
    ]
    with pytest.raises(InvalidToken):
        only_new.decrypt(before[0])
    with pytest.raises(InvalidToken):
        SecretBox(old).decrypt(after[0])
