"""`poolgate up`: migrations, then the three services as supervised child processes in the foreground.

A service that dies is started again, after a backoff that grows while it keeps dying (1 s doubling to
30 s; `_supervisor.py`), and the supervisor logs which one exited, how, and when it is restarted.
Ctrl-C (or SIGTERM, or closing the terminal) stops all three cleanly: each runs in a process group of
its own, so only the supervisor receives the Ctrl-C, and it stops them one after another (SIGTERM,
then SIGKILL after a timeout).
"""

from __future__ import annotations

import asyncio
import signal
import sys

from services.account_service.migrations import migrate
from services.account_service.settings import get_settings
from services.cli._supervisor import Child, Supervisor

SERVICES = ("account_service", "proxy_service", "refresh_worker")


def up() -> int:
    settings = get_settings()
    asyncio.run(migrate(settings.database_url))
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    supervisor = Supervisor([Child(name, [sys.executable, "-m", f"services.{name}"]) for name in SERVICES])
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
    supervisor.run(lambda: stopping)
    return 0
