"""Running `wrk` and reading its text report (`--latency`)."""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).with_name("post.lua")
INSTALL = "apt-get install -y wrk"

_TIME_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}  # -> milliseconds
_PERCENTILE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+(\d+(?:\.\d+)?)(us|ms|s|m|h)\s*$", re.M)
_TOTAL = re.compile(r"^\s*(\d+) requests in (\d+(?:\.\d+)?)(us|ms|s|m|h)", re.M)
_RPS = re.compile(r"^Requests/sec:\s+(\d+(?:\.\d+)?)", re.M)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", re.M)
_EXACT = re.compile(r"^bench-latency-us (.+)$", re.M)  # printed by post.lua's done()
_SOCKET = re.compile(r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.M)


class WrkError(RuntimeError):
    pass


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    latency_ms: dict[str, float]  # "50", "75", "90", "99" (+ "99.9", "max" from post.lua) -> milliseconds
    non_2xx: int = 0  # wrk counts 3xx here too: PoolGate never answers 3xx, so any is a failure
    socket_errors: dict[str, int] = field(default_factory=dict)  # connect/read/write/timeout
    cpu_s: float = 0.0  # wrk's own CPU time (user + system)

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())

    @property
    def ok_rps(self) -> float:
        """Successful (2xx) requests per second: what a run with failures really delivered."""
        return (self.requests - self.non_2xx) / self.duration_s if self.duration_s else 0.0

    def to_json(self) -> dict:
        return {**asdict(self), "errors": self.errors, "ok_rps": self.ok_rps}


def to_ms(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS[unit]


def parse(output: str) -> WrkResult:
    """Read wrk's report. Raises WrkError when the summary lines are missing."""
    total, rps = _TOTAL.search(output), _RPS.search(output)
    if not total or not rps:
        raise WrkError(f"unrecognised wrk output:\n{output}")
    latency = {f"{float(p):g}": to_ms(v, u) for p, v, u in _PERCENTILE.findall(output)}
    exact = _EXACT.search(output)
    if exact:  # same percentiles (and p99.9, max) to the microsecond
        for item in exact.group(1).split():
            name, _, value = item.partition("=")
            latency[name.removeprefix("p")] = int(value) / 1e3
    non_2xx = _NON_2XX.search(output)
    socket = _SOCKET.search(output)
    return WrkResult(
        requests=int(total.group(1)),
        duration_s=to_ms(total.group(2), total.group(3)) / 1e3,
        rps=float(rps.group(1)),
        latency_ms=latency,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=(
            dict(zip(("connect", "read", "write", "timeout"), map(int, socket.groups()), strict=True))
            if socket
            else {}
        ),
    )


def ensure_wrk() -> str:
    """The wrk binary; installed with apt-get when missing and running as root."""
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() != 0:
        raise SystemExit(f"bench: wrk is not installed; install it with:\n    sudo {INSTALL}")
    print(f"bench: wrk is missing, running `{INSTALL}`", flush=True)
    if subprocess.run(INSTALL.split(), check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], check=False)
        subprocess.run(INSTALL.split(), check=False)
    path = shutil.which("wrk")
    if not path:
        raise SystemExit(f"bench: could not install wrk; try:\n    {INSTALL}")
    return path


def run(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    connections: int,
    threads: int,
    duration_s: int,
    timeout_s: int = 10,
) -> WrkResult:
    """POST `body` to `url` over `connections` keep-alive connections for `duration_s` seconds."""
    with tempfile.NamedTemporaryFile(prefix="bench-body-", suffix=".json") as body_file:
        body_file.write(body)
        body_file.flush()
        args = [
            ensure_wrk(),
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{duration_s}s",
            "--timeout",
            f"{timeout_s}s",
            "--latency",
            "-s",
            str(SCRIPT),
        ]
        for name, value in headers.items():
            args += ["-H", f"{name}: {value}"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [*args, url],
            env={**os.environ, "BENCH_BODY_FILE": body_file.name},
            capture_output=True,
            text=True,
            timeout=duration_s + timeout_s + 30,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise WrkError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    result = parse(done.stdout)
    result.cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result
