"""Ordered SQL migrations (`NNNN_name.sql`), applied under a PostgreSQL advisory lock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from shared.logging import get_logger

log = get_logger(__name__)

# Any constant works; it only has to be the same for every replica and `poolgate migrate`.
_LOCK_ID = 0x706F6F6C67617465  # "poolgate"
_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    found = []
    for entry in resources.files(__package__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    return sorted(found, key=lambda m: m.version)


async def ensure_database(dsn: str) -> None:
    """Create the database named in `dsn` if the server does not have it yet."""
    parts = urlsplit(dsn)
    name = parts.path.lstrip("/")
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            # Another process created it between our check and our CREATE.
            pass
        finally:
            await admin.close()
    else:
        await conn.close()


async def migrate(dsn: str, *, upto: int | None = None) -> list[int]:
    """Apply every pending migration (up to `upto`); returns the versions applied."""
    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    applied: list[int] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in available():
            if migration.version in done or (upto is not None and migration.version > upto):
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            applied.append(migration.version)
            log.info("migrations.applied", version=migration.version, name=migration.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
        await conn.close()
    return applied
