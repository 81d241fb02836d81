"""The CLI's tests: a migrated database of each test's own, in the environment the CLI reads."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid

import asyncpg
import pytest

from services.account_service.migrations import migrate
from services.account_service.settings import get_settings
from services.cli import main


@pytest.fixture
def scratch_env(infra, monkeypatch):
    name = f"{infra.database}_cli_{uuid.uuid4().hex[:6]}"
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


@pytest.fixture
def cli(capsys):
    """Run `poolgate ARGS...`, assert it succeeded and return what it printed."""

    def run(*args: str) -> str:
        get_settings.cache_clear()
        # The CLI configures logging with the current stderr; keep it off pytest's per-test capture.
        with contextlib.redirect_stderr(sys.__stderr__):
            assert main(list(args)) == 0
        return capsys.readouterr().out.strip()

    return run
