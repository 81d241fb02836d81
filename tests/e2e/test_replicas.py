"""Two account_service replicas (the second with two worker processes): a change made through one is
used by the other within a second, because each keeps its index current from the `account.*` events
on its own queue."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from shared.settings import DEV_SERVICE_TOKEN
from tests.support.infra import Infra, create_database, teardown
from tests.support.processes import Process, free_port, run_cli, spawn, wait_ready

pytestmark = pytest.mark.e2e
SERVICE = {"authorization": f"Bearer {DEV_SERVICE_TOKEN}"}


@pytest.fixture(scope="module")
def replicas(infra: Infra, tmp_path_factory) -> Iterator[tuple[list[str], dict[str, str]]]:
    infra = infra.child("replicas")
    asyncio.run(create_database(infra))
    log_dir = tmp_path_factory.mktemp("replica-logs")
    processes: list[Process] = []
    try:
        env = infra.env()
        run_cli("migrate", env=env)
        urls = []
        for n in range(2):
            port = free_port()
            proc = spawn(
                f"account_service_{n}",
                ["-m", "services.account_service"],
                # The second replica runs two workers: each keeps its own index from its own queue.
                env={
                    **env,
                    "POOLGATE_ACCOUNT_SERVICE_PORT": str(port),
                    "POOLGATE_ACCOUNT_SERVICE_WORKERS": str(n + 1),
                },
                log_dir=log_dir,
            )
            processes.append(proc)
            wait_ready(proc, f"http://127.0.0.1:{port}/readyz")
            urls.append(f"http://127.0.0.1:{port}")
        yield urls, env
    finally:
        for proc in processes:
            proc.stop()
        asyncio.run(teardown(infra))


def _seconds_until(predicate, timeout_s: float = 5.0) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout_s, "the other replica never saw the change"
        time.sleep(0.01)
    return time.monotonic() - started


def test_a_change_through_one_replica_is_used_by_the_other_within_a_second(replicas) -> None:
    (first, second), env = replicas
    user = f"r-{uuid.uuid4().hex[:6]}"
    run_cli("users", "create", user, env=env)
    key = run_cli("keys", "create", "--user", user, env=env)
    auth = {"authorization": f"Bearer {key}"}

    def allocated_by_second() -> int:
        return httpx.post(
            f"{second}/internal/v1/allocations", headers=SERVICE, json={"api_key": key, "model": "gpt-4o"}
        ).status_code

    assert allocated_by_second() == 503
    created = httpx.post(
        f"{first}/api/v1/accounts/custom_api",
        headers=auth,
        json={"api_base": "http://127.0.0.1:9/v1", "api_key": "sk-replica-test", "format": "openai"},
    )
    assert created.status_code == 201, created.text
    assert _seconds_until(lambda: allocated_by_second() == 200) < 1.0

    disabled = httpx.post(f"{first}/api/v1/accounts/{created.json()['id']}/disable", headers=auth)
    assert disabled.status_code == 200, disabled.text
    assert _seconds_until(lambda: allocated_by_second() == 503) < 1.0
