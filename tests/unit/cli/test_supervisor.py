"""`poolgate up`'s supervisor: the restart backoff, and small real child processes."""

from __future__ import annotations

import os
import signal
import sys
import time

from services.cli._supervisor import Backoff, Child, Supervisor, describe_exit


def test_restart_delays_double_from_the_first_up_to_the_cap():
    backoff = Backoff(first_s=1, cap_s=30, reset_after_s=60)
    assert [backoff.delay_after(uptime_s=0.5) for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_child_that_stayed_up_long_enough_restarts_after_the_first_delay_again():
    backoff = Backoff(first_s=1, cap_s=30, reset_after_s=60)
    for _ in range(5):
        backoff.delay_after(uptime_s=1)
    assert backoff.delay_after(uptime_s=59) == 30, "a short run does not reset the backoff"
    assert backoff.delay_after(uptime_s=60) == 1
    assert backoff.delay_after(uptime_s=2) == 2


def test_exits_are_described_by_code_or_signal():
    assert describe_exit(3) == "exit code 3"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _until(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_child_that_dies_is_started_again_after_its_backoff():
    crashing = Child("crashing", _python("raise SystemExit(3)"), backoff=Backoff(first_s=0.2, cap_s=0.4))
    steady = Child("steady", _python("import time; time.sleep(60)"))
    supervisor = Supervisor([crashing, steady], stop_timeout_s=5)
    supervisor.start()
    try:
        first = crashing.popen
        _until(lambda: first.poll() is not None)
        supervisor.check()
        assert crashing.restart_at is not None and crashing.popen is first, "it waits before restarting"
        supervisor.check()
        assert crashing.popen is first
        time.sleep(0.25)
        supervisor.check()
        assert crashing.popen is not first, "started again once the backoff passed"
        assert steady.popen.poll() is None, "the others are left alone"
    finally:
        supervisor.stop()
    assert steady.popen.returncode == -signal.SIGTERM


def test_stopping_kills_a_child_that_ignores_sigterm_with_its_whole_process_group(tmp_path):
    # The child starts a grandchild in its group (like uvicorn's workers), and both ignore SIGTERM.
    pid_file = tmp_path / "grandchild.pid"
    code = (
        "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        "p = subprocess.Popen([sys.executable, '-c', 'import signal, time;"
        " signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)']);"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    stubborn = Child("stubborn", _python(code))
    supervisor = Supervisor([stubborn], stop_timeout_s=0.5)
    supervisor.start()
    _until(lambda: pid_file.exists() and pid_file.read_text())
    grandchild = int(pid_file.read_text())
    assert os.getpgid(stubborn.popen.pid) == stubborn.popen.pid, "the child leads a group of its own"
    assert os.getpgid(grandchild) == stubborn.popen.pid
    started = time.monotonic()
    supervisor.stop()
    assert stubborn.popen.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 3
    _until(lambda: not _alive(grandchild))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(") ", 1)[1][0] != "Z"  # a zombie waits only for its reaper
    except FileNotFoundError:
        return False
