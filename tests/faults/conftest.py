"""tests/faults: the whole gateway under steady load while the machine's own PostgreSQL, Redis and
RabbitMQ are stopped and started again (tests/support/servers.py), and while services restart.
A stack of its own (tests/support/stack.py), so that the e2e stack is never disturbed."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest

from tests.support.infra import Infra
from tests.support.stack import Stack, running_stack

HELLO = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture(scope="session")
def fault_stack(infra: Infra, tmp_path_factory) -> Iterator[Stack]:
    with running_stack(infra.child("faults"), tmp_path_factory.mktemp("fault-stack-logs")) as running:
        yield running


@dataclass
class Load:
    """What the clients got: every status, and the bodies of the calls that did not succeed."""

    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[tuple[int, str]] = field(default_factory=list)

    @property
    def made(self) -> int:
        return sum(self.statuses.values())

    @property
    def succeeded(self) -> int:
        return self.statuses[200]


@contextlib.asynccontextmanager
async def steady_load(
    stack: Stack, key: str, *, clients: int = 4, pause_s: float = 0.2
) -> AsyncIterator[Load]:
    """`clients` callers, each calling and then pausing `pause_s` (about 20 calls/s with the
    defaults), until the body ends."""
    load = Load()
    done = asyncio.Event()

    async def caller(client: httpx.AsyncClient) -> None:
        while not done.is_set():
            try:
                answer = await client.post("/v1/chat/completions", json=HELLO)
            except httpx.HTTPError as exc:  # no answer at all is a failure too
                load.statuses[0] += 1
                load.failures.append((0, repr(exc)))
            else:
                load.statuses[answer.status_code] += 1
                if answer.status_code != 200:
                    load.failures.append((answer.status_code, answer.text[:300]))
            await asyncio.sleep(pause_s)

    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=stack.proxy_url, headers=headers, timeout=60) as client:
        tasks = [asyncio.create_task(caller(client)) for _ in range(clients)]
        try:
            yield load
        finally:
            done.set()
            await asyncio.gather(*tasks)


async def counted(stack: Stack, account_id: str) -> tuple[int, int, int]:
    """(successes, failures) counted on the account, and requests counted on its owner's keys."""
    conn = await asyncpg.connect(stack.env["POOLGATE_DATABASE_URL"])
    try:
        row = await conn.fetchrow(
            "SELECT a.success_count, a.fail_count,"
            " (SELECT coalesce(sum(k.request_count), 0) FROM api_keys k WHERE k.user_id = a.owner_id)"
            " AS requests"
            " FROM accounts a WHERE a.id = $1",
            account_id,
        )
    finally:
        await conn.close()
    return row["success_count"], row["fail_count"], int(row["requests"])


async def until_counted(
    stack: Stack, account_id: str, expected: tuple[int, int, int], timeout_s: float = 90
) -> None:
    """Wait until the counters reach `expected`, then check they stay there (nothing counted twice)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    seen = None
    while loop.time() < deadline:
        try:
            seen = await counted(stack, account_id)
        except (OSError, asyncpg.PostgresError):
            seen = None  # PostgreSQL still starting
        if seen is not None and seen[0] >= expected[0]:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.5)  # a duplicate would arrive within the consumer's batch window
    assert await counted(stack, account_id) == expected
