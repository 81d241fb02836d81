"""Migration 0002 from the 0001 schema: existing rows get their region, and the new rules hold."""

from __future__ import annotations

import uuid

import asyncpg
import orjson
import pytest

from services.account_service.migrations import migrate


async def _insert(conn, owner, kind: str, settings: dict) -> uuid.UUID:
    return await conn.fetchval(
        "INSERT INTO accounts (owner_id, kind, name, settings, secrets) VALUES ($1, $2, $3, $4::jsonb, 'x')"
        " RETURNING id",
        owner,
        kind,
        f"{kind}-old",
        orjson.dumps(settings).decode(),
    )


async def test_existing_rows_get_their_region_and_the_new_checks_hold(scratch_dsn):
    assert await migrate(scratch_dsn, upto=1) == [1]
    conn = await asyncpg.connect(scratch_dsn)
    try:
        owner = await conn.fetchval("INSERT INTO users (username) VALUES ('old') RETURNING id")
        kiro = await _insert(conn, owner, "kiro", {"auth_type": "social"})
        custom = await _insert(conn, owner, "custom_api", {"api_base": "http://x", "format": "openai"})
        dreamina_hk = await _insert(conn, owner, "dreamina", {"email": "a@x.co", "region": "HK"})
        dreamina_none = await _insert(conn, owner, "dreamina", {"email": "b@x.co"})

        assert await migrate(scratch_dsn, upto=2) == [2]

        regions = dict(await conn.fetch("SELECT id, region FROM accounts"))
        assert regions == {kiro: "us-east-1", custom: None, dreamina_hk: "hk", dreamina_none: "cn"}
        assert await conn.fetchval("SELECT settings FROM accounts WHERE id = $1", dreamina_hk) == (
            '{"email": "a@x.co"}'
        ), "the region lives in its column only"
        columns = {
            r["column_name"]
            for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts'"
            )
        }
        assert {"region", "credential_expires_at", "status_until"} <= columns

        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("UPDATE accounts SET region = 'us-west-2' WHERE id = $1", kiro)
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("UPDATE accounts SET region = NULL WHERE id = $1", kiro)
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("UPDATE accounts SET region = 'eu' WHERE id = $1", dreamina_hk)
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("UPDATE accounts SET region = 'us-east-1' WHERE id = $1", custom)
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                "INSERT INTO accounts (owner_id, kind, name, region, settings, secrets)"
                " VALUES ($1, 'dreamina', 'dup', 'us', '{\"email\": \"A@X.CO\"}'::jsonb, 'x')",
                owner,
            )
    finally:
        await conn.close()
