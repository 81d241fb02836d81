"""Migration 0014 from the 0013 schema: custom API providers saved as typed are stored in lower case."""

from __future__ import annotations

import uuid

import asyncpg
import orjson

from services.account_service.migrations import migrate


async def _insert(conn, owner, name: str, settings: dict) -> uuid.UUID:
    return await conn.fetchval(
        "INSERT INTO accounts (owner_id, kind, name, settings, secrets)"
        " VALUES ($1, 'custom_api', $2, $3::jsonb, 'x') RETURNING id",
        owner,
        name,
        orjson.dumps(settings).decode(),
    )


async def test_providers_saved_as_typed_are_lowered_and_a_default_name_follows(scratch_dsn):
    assert await migrate(scratch_dsn, upto=13)
    conn = await asyncpg.connect(scratch_dsn)
    try:
        owner = await conn.fetchval("INSERT INTO users (username) VALUES ('old') RETURNING id")
        base = {"api_base": "https://r.openai.azure.com", "format": "openai"}
        default_name = await _insert(conn, owner, "Azure@r.openai.azure.com", {**base, "provider": "Azure"})
        own_name = await _insert(conn, owner, "prod", {**base, "provider": "OpenRouter"})
        lower = await _insert(conn, owner, "deepseek@api.deepseek.com", {**base, "provider": "deepseek"})
        none = await _insert(conn, owner, "openai@r.openai.azure.com", base)

        assert await migrate(scratch_dsn, upto=14) == [14]

        rows = {
            r["id"]: (r["name"], r["provider"])
            for r in await conn.fetch("SELECT id, name, settings->>'provider' AS provider FROM accounts")
        }
        assert rows == {
            default_name: ("azure@r.openai.azure.com", "azure"),
            own_name: ("prod", "openrouter"),
            lower: ("deepseek@api.deepseek.com", "deepseek"),
            none: ("openai@r.openai.azure.com", None),
        }
    finally:
        await conn.close()
