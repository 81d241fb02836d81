"""`poolgate up`: migrations, then the three services as child processes in the foreground.

Ctrl-C (or SIGTERM) stops all three cleanly; if one of them dies, the others are stopped too and the
exit code says so, rather than leaving a half-running gateway behind.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time

from services.account_service.migrations import migrate
from services.account_service.settings import get_settings

SERVICES = ("account_service", "proxy_service", "refresh_worker")


def _stop(procs: list[subprocess.Popen], timeout_s: float = 15.0) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


def up() -> int:
    settings = get_settings()
    asyncio.run(migrate(settings.database_url))
    procs = [subprocess.Popen([sys.executable, "-m", f"services.{name}"]) for name in SERVICES]
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    host = settings.host
    print(
        f"PoolGate is starting: proxy http://{host}:{settings.proxy_port} "
        f"({settings.proxy_workers} worker(s))  "
        f"account_service http://{host}:{settings.account_service_port} "
        f"({settings.account_service_workers} worker(s))  "
        f"refresh_worker http://{host}:{settings.refresh_worker_port}   (Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stopping:
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                print(f"poolgate: a service exited with code {dead[0].returncode}; stopping", file=sys.stderr)
                _stop(procs)
                return 1
            time.sleep(0.2)
    finally:
        _stop(procs)
    return 0
