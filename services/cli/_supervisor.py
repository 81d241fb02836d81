"""Keep a few child processes running: restart one that dies, stop them all on request.

Each child runs in a process group of its own, so a Ctrl-C in the terminal reaches only the
supervisor, which then stops the children in order (the reverse of their start order), and so a
child's own worker processes (uvicorn with several workers) are stopped or killed with it.

A child that dies while we are not stopping is started again after a capped exponential backoff
(`Backoff`): one that keeps crashing at start-up is retried ever more slowly instead of in a tight
loop, and one that ran for a while before dying starts again at once-ish.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shared.logging import get_logger

log = get_logger(__name__)


@dataclass
class Backoff:
    """Delays between restarts of one child: `first_s`, doubling up to `cap_s`; a child that stayed up
    for `reset_after_s` counts as healthy again, so its next restart waits `first_s` again. Pure: the
    caller says how long the child ran."""

    first_s: float = 1.0
    cap_s: float = 30.0
    reset_after_s: float = 60.0
    _next_s: float | None = field(default=None, init=False, repr=False)

    def delay_after(self, uptime_s: float) -> float:
        """How long to wait before starting again a child that died after running `uptime_s`."""
        if self._next_s is None or uptime_s >= self.reset_after_s:
            self._next_s = self.first_s
        delay = self._next_s
        self._next_s = min(self._next_s * 2, self.cap_s)
        return delay


@dataclass
class Child:
    name: str
    argv: list[str]
    backoff: Backoff = field(default_factory=Backoff)
    popen: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None  # set while it waits to be started again


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class Supervisor:
    def __init__(
        self,
        children: Sequence[Child],
        *,
        stop_timeout_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = list(children)
        self._stop_timeout_s = stop_timeout_s
        self._clock = clock

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def check(self) -> None:
        """One round: notice children that died, and start again those whose backoff has passed."""
        now = self._clock()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._spawn(child)
                    log.warning("up.service_restarted", name=child.name, pid=child.popen.pid)
                continue
            returncode = child.popen.poll()
            if returncode is None:
                continue
            _kill_group(child.popen)  # its own workers, orphaned if it was killed
            uptime_s = now - child.started_at
            delay = child.backoff.delay_after(uptime_s)
            child.restart_at = now + delay
            log.warning(
                "up.service_exited",
                name=child.name,
                exit=describe_exit(returncode),
                uptime_s=round(uptime_s, 1),
                restart_in_s=delay,
            )

    def run(self, stopping: Callable[[], bool], *, poll_s: float = 0.2) -> None:
        """Supervise until `stopping()` says so, then stop every child."""
        try:
            self.start()
            while not stopping():
                self.check()
                time.sleep(poll_s)
        finally:
            self.stop()

    def stop(self) -> None:
        """SIGTERM each child in the reverse of the start order, waiting for it to exit; SIGKILL its
        whole process group if it has not after the timeout."""
        for child in reversed(self.children):
            child.restart_at = None
            proc = child.popen
            if proc is None:
                continue
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(self._stop_timeout_s)
                except subprocess.TimeoutExpired:
                    log.warning("up.service_killed", name=child.name, after_s=self._stop_timeout_s)
            _kill_group(proc)
            proc.wait()

    def _spawn(self, child: Child) -> None:
        # process_group=0: a group of its own, out of reach of the terminal's Ctrl-C.
        child.popen = subprocess.Popen(child.argv, process_group=0)
        child.started_at = self._clock()
        child.restart_at = None


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL whatever is left of the child's process group (the leader's pid is the group id)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
