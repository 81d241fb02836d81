"""`poolgate up` supervises the three services: a killed one comes back, Ctrl-C stops them all."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.infra import Infra, create_database, teardown
from tests.support.processes import Process, free_port, spawn, wait_ready


def _children(pid: int) -> dict[str, int]:
    """The supervisor's child processes, by service name."""
    found = {}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        if len(cmdline) > 2 and cmdline[-3] == b"-m":
            found[cmdline[-2].decode().removeprefix("services.")] = int(child)
    return found


def _until(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _answers(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=1.0).status_code
    except httpx.HTTPError:
        return None


@pytest.fixture
def up(infra: Infra, tmp_path: Path) -> Iterator[tuple[Process, dict[str, str]]]:
    own = infra.child("up")
    asyncio.run(create_database(own))
    account_port, proxy_port, worker_port = free_port(), free_port(), free_port()
    env = own.env(
        POOLGATE_PROXY_PORT=str(proxy_port),
        POOLGATE_ACCOUNT_SERVICE_PORT=str(account_port),
        POOLGATE_REFRESH_WORKER_PORT=str(worker_port),
        POOLGATE_ACCOUNT_SERVICE_URL=f"http://127.0.0.1:{account_port}",
        POOLGATE_PROXY_WORKERS="1",
        POOLGATE_ACCOUNT_SERVICE_WORKERS="1",
        POOLGATE_LOG_JSON="false",
    )
    proc = spawn("poolgate_up", ["-m", "services.cli", "up"], env=env, log_dir=tmp_path)
    try:
        for port in (account_port, proxy_port, worker_port):
            wait_ready(proc, f"http://127.0.0.1:{port}/readyz")
        yield proc, {"worker": f"http://127.0.0.1:{worker_port}/readyz"}
    finally:
        proc.stop(timeout_s=30)
        asyncio.run(teardown(own))


def test_a_killed_service_is_restarted_and_ctrl_c_stops_all_three(up):
    proc, urls = up
    children = _children(proc.popen.pid)
    assert set(children) == {"account_service", "proxy_service", "refresh_worker"}

    os.kill(children["refresh_worker"], signal.SIGKILL)
    _until(lambda: _answers(urls["worker"]) is None, 10, "the killed worker still answers")
    _until(lambda: _answers(urls["worker"]) == 200, 20, f"the worker never came back:\n{proc.logs()}")
    restarted = _children(proc.popen.pid)
    assert restarted["refresh_worker"] != children["refresh_worker"]
    assert restarted["account_service"] == children["account_service"], "the others were left alone"
    logs = proc.logs()
    assert "up.service_exited" in logs and "killed by SIGKILL" in logs and "up.service_restarted" in logs

    proc.popen.send_signal(signal.SIGINT)  # what Ctrl-C sends; the children are in groups of their own
    assert proc.popen.wait(30) == 0
    for pid in restarted.values():
        _until(lambda pid=pid: not Path(f"/proc/{pid}").exists(), 5, f"service {pid} outlived poolgate up")
