"""account_service integration fixtures: the `api` fixture runs the service in-process per module."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime

import asyncpg
import pytest
from fastapi.testclient import TestClient

from services.account_service.app import create_app
from services.account_service.migrations import migrate
from services.account_service.settings import AccountServiceSettings
from tests.integration.account_service._api import SCHEMATHESIS_SUMMARY, Api, bootstrap_admin, drop_database
from tests.support.infra import Infra


@contextlib.contextmanager
def serving_api(
    infra: Infra, label: str, *, clock: Callable[[], datetime] | None = None, **env: str
) -> Iterator[Api]:
    """account_service in-process on a fresh migrated database of its own (dropped afterwards);
    `env` adds POOLGATE_ settings; `clock` stands in for the time of day (daily counts and resets)."""
    name = f"{infra.database}_{label}_{uuid.uuid4().hex[:6]}"
    dsn = f"{infra.postgres_url}/{name}"
    asyncio.run(migrate(dsn))
    env = infra.env(POOLGATE_DATABASE_URL=dsn, POOLGATE_LOG_JSON="false", POOLGATE_LOG_LEVEL="WARNING", **env)
    settings = AccountServiceSettings(**{k.removeprefix("POOLGATE_").lower(): v for k, v in env.items()})
    admin_key = asyncio.run(bootstrap_admin(dsn, f"admin-{uuid.uuid4().hex[:6]}"))
    try:
        # Logging is configured once per process with the stream current at that moment: the real
        # stderr, not pytest's per-test capture, which is closed after the test.
        with contextlib.redirect_stderr(sys.__stderr__):
            app = create_app(settings, clock=clock)
        # A loopback client, as the proxy and worker are on one machine while the development token
        # is in use (the internal API refuses other clients then).
        with TestClient(app, client=("127.0.0.1", 50000)) as client:
            yield Api(client=client, infra=infra, database_url=dsn, admin_key=admin_key)
    finally:
        asyncio.run(drop_database(infra, name))


@pytest.fixture(scope="module")
def api(infra: Infra) -> Iterator[Api]:
    with serving_api(infra, "api") as served:
        yield served


@pytest.fixture
async def scratch_dsn(infra: Infra):
    """An empty database of its own, for a migration test to build from an older schema."""
    name = f"{infra.database}_mig_{uuid.uuid4().hex[:6]}"
    yield f"{infra.postgres_url}/{name}"
    admin = await asyncpg.connect(f"{infra.postgres_url}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    line = config.stash.get(SCHEMATHESIS_SUMMARY, None)
    if line is not None:
        terminalreporter.write_line(line)
