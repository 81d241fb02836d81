"""Stop and start the machine's own PostgreSQL, Redis and RabbitMQ, for the fault tests.

`outage(name)` stops one and always starts it again, and waits until it answers, even when the
test body fails, so that the next test (and CI) find every server running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import AsyncIterator, Callable

_REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "",
    "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


def _run(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout_s)


def _postgres_cluster() -> list[str]:
    (version,) = os.listdir("/etc/postgresql")
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]


def _wait(check: Callable[[], bool], what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come back")
        time.sleep(0.2)


def stop(name: str) -> None:
    if name == "postgresql":
        _run(*_postgres_cluster(), "stop", "-m", "fast")
    elif name == "redis":
        _run("redis-cli", "-p", "6379", "shutdown", "nosave")
    elif name == "rabbitmq":
        _run("rabbitmqctl", "stop_app")
    else:
        raise ValueError(name)


def start(name: str) -> None:
    if name == "postgresql":
        _run(*_postgres_cluster(), "start")
        _wait(lambda: _run("pg_isready", "-h", "127.0.0.1", "-q").returncode == 0, name)
    elif name == "redis":
        if _run("redis-cli", "-p", "6379", "ping").stdout.strip() != "PONG":
            _run(*_REDIS_START)
        _wait(lambda: _run("redis-cli", "-p", "6379", "ping").stdout.strip() == "PONG", name)
    elif name == "rabbitmq":
        _run("rabbitmqctl", "start_app")
        _run("rabbitmqctl", "await_startup")
    else:
        raise ValueError(name)


@contextlib.asynccontextmanager
async def outage(name: str) -> AsyncIterator[None]:
    """`name` stopped for the body; started again (and answering) afterwards, whatever happened."""
    await asyncio.to_thread(stop, name)
    try:
        yield
    finally:
        await asyncio.to_thread(start, name)
