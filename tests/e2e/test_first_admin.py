"""`make up`'s first-admin step (deploy/local/first-admin.sh): it creates `admin`, prints an API key and
an initial console password that signs in, prints the same ones on the next run, and never replaces a
password set since."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import asyncpg
import pytest

from services.account_service.migrations import migrate
from services.account_service.users import passwords
from tests.support.infra import Infra, create_database, teardown
from tests.support.processes import ROOT, run_cli


@pytest.fixture
def own(infra: Infra):
    own = infra.child("first-admin")
    asyncio.run(create_database(own))
    asyncio.run(migrate(own.database_url))
    yield own
    asyncio.run(teardown(own))


def _first_admin(env: dict[str, str]) -> str:
    result = subprocess.run(
        ["bash", "deploy/local/first-admin.sh"],
        cwd=ROOT,
        env={**os.environ, **env, "POOLGATE_BIN": str(ROOT / ".venv" / "bin" / "poolgate")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _printed(output: str, label: str) -> str:
    """A value of the summary the script ends with (the last line with that label)."""
    line = [line for line in output.splitlines() if line.strip().startswith(label)][-1]
    return line.split(":", 1)[1].split()[0]


async def _signs_in(database_url: str, password: str) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        user_id = await conn.fetchval("SELECT id FROM users WHERE username = 'admin'")
        return await passwords.matches(conn, user_id=user_id, password=password)
    finally:
        await conn.close()


def test_the_first_admin_gets_a_key_and_a_password_that_stay(own: Infra, tmp_path: Path):
    env = own.env(POOLGATE_STATE_DIR=str(tmp_path / "state"))
    first = _first_admin(env)
    key, password = _printed(first, "admin API key"), _printed(first, "admin console password")
    assert key.startswith("pg-")
    assert len(password) >= passwords.MIN_LENGTH
    assert asyncio.run(_signs_in(own.database_url, password))
    assert (tmp_path / "state" / "admin.password").stat().st_mode & 0o777 == 0o600

    again = _first_admin(env)
    assert (_printed(again, "admin API key"), _printed(again, "admin console password")) == (key, password)

    # A password set since (here from the shell) is never replaced, even when the kept file is gone.
    run_cli("users", "set-password", "admin", env=env, input="chosen by the admin\n")
    (tmp_path / "state" / "admin.password").unlink()
    third = _first_admin(env)
    assert "set earlier" in third
    assert asyncio.run(_signs_in(own.database_url, "chosen by the admin"))
