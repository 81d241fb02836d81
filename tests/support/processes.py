"""Start PoolGate's services and the fakes as real child processes, and stop them cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def spawn(name: str, args: list[str], *, env: dict[str, str], log_dir: Path) -> Process:
    log_path = log_dir / f"{name}.log"
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    return Process(name, popen, log_path)


def spawn_listening(
    name: str, module: str, *, log_dir: Path, args: tuple[str, ...] = (), timeout_s: float = 15.0
) -> tuple[Process, int]:
    """Start a fake that prints `LISTENING <port>` once it serves; returns it with its port."""
    proc = spawn(name, ["-m", module, "--port", "0", *args], env={}, log_dir=log_dir)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in proc.logs().splitlines():
            if line.startswith("LISTENING "):
                return proc, int(line.split()[1])
        if proc.popen.poll() is not None:
            break
        time.sleep(0.05)
    proc.stop()
    raise RuntimeError(f"{name} did not start:\n{proc.logs()}")


def wait_ready(proc: Process, url: str, *, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.logs()}")
        try:
            response = httpx.get(url, timeout=1.0)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name} not ready at {url}: {last}\n{proc.logs()}")


def run_cli(*args: str, env: dict[str, str], input: str | None = None) -> str:
    """Run `poolgate ARGS` (`input` on stdin) and return its stdout; fail loudly with stderr otherwise."""
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        input=input,
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"poolgate {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result.stdout.strip()
