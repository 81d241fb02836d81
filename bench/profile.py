"""`python -m bench.profile`: where proxy_service and account_service spend their CPU under load.

Starts the same stack as the bench, drives one load with wrk and samples both services with py-spy
(not a project dependency: install it anywhere, e.g. `python3 -m pip install --target /tmp/pyspy
py-spy`, and pass --py-spy /tmp/pyspy/bin/py-spy). Prints the top frames and keeps the raw stacks in
bench/results/ for flame graphs.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

from bench import wrk
from bench.scenarios import LOADS, configure, measure, probe, target
from bench.stack import running_stack

RESULTS = Path(__file__).resolve().parent / "results"
PROFILED = ("proxy_service", "account_service")
_LINE = re.compile(r":\d+\)$")
# uvloop runs the loop in C, so its own work and its epoll wait both show as this Python frame.
LOOP = "Runner.run (asyncio/runners.py)"


def find_py_spy(given: str | None) -> str:
    for candidate in (given, shutil.which("py-spy"), "/tmp/pyspy/bin/py-spy"):
        if candidate and Path(candidate).exists():
            return candidate
    raise SystemExit("bench.profile: py-spy not found; install it outside the project, e.g.\n"
                     "    python3 -m pip install --target /tmp/pyspy py-spy\n"
                     "and pass --py-spy /tmp/pyspy/bin/py-spy")  # fmt: skip


def top_frames(raw: str, top: int) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """(samples, [(frame, self samples)], [(PoolGate frame, inclusive samples)]) from py-spy's raw
    format. Inclusive figures are for PoolGate's own frames (services/, shared/): how the time splits
    across its steps, without the dozen framework frames every request passes through."""
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_LINE.sub(")", f) for f in stack.split(";") if "(" in f]
        n = int(count)
        total += n
        if frames:
            leaf[frames[-1]] += n
            for frame in set(frames):
                if "(services/" in frame or "(shared/" in frame:
                    inclusive[frame] += n
    return total, leaf.most_common(top), inclusive.most_common(top)


def _record(py_spy: str, pid: int, seconds: int, name: str) -> subprocess.Popen:
    out = RESULTS / f"profile-{name}.txt"
    # --subprocesses: a service started with several workers is a supervisor and one child per worker.
    args = (
        f"record --nonblocking --subprocesses --rate 200 --format raw --duration {seconds} --pid {pid} "
        f"--output {out}"
    )
    return subprocess.Popen([py_spy, *args.split()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--py-spy", help="path to the py-spy binary")
    parser.add_argument("--load", default="nonstream_instant", choices=[load.name for load in LOADS])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10, help="seconds of sampling")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    py_spy = find_py_spy(args.py_spy)
    load = next(x for x in LOADS if x.name == args.load)
    RESULTS.mkdir(parents=True, exist_ok=True)

    with running_stack() as stack:
        configure(stack, load)
        probe(target(stack, load, "proxy"))
        loader = threading.Thread(
            target=lambda: measure(
                stack, load, "proxy", args.clients, duration_s=args.duration + 2, warmup_s=2
            )
        )
        loader.start()
        threading.Event().wait(3.0)  # past the warm-up and into the measured run
        samplers = [_record(py_spy, pid, args.duration, name) for name, pid in stack.pids(*PROFILED).items()]
        for sampler in samplers:
            sampler.wait()
        loader.join()

    print(f"py-spy, {args.duration} s, {args.load}, {args.clients} clients through the proxy.")
    print(f"'{LOOP}' is uvloop's C loop: its callbacks and its epoll wait. py-spy samples wall time")
    print("of running threads: on a busy shared box, a thread preempted right after a socket write (the")
    print("woken reader runs) is counted in that write's frame. /proc CPU figures are the reliable cost.\n")
    for name in PROFILED:
        raw = (RESULTS / f"profile-{name}.txt").read_text()
        total, leaf, inclusive = top_frames(raw, args.top)
        print(f"== {name}: {total} samples (raw stacks: bench/results/profile-{name}.txt)")
        print("-- self (the frame itself was running)")
        for frame, n in leaf:
            print(f"{100 * n / total:5.1f}%  {frame}")
        print("-- inclusive, PoolGate's own frames (the frame or something it called was running)")
        for frame, n in inclusive:
            print(f"{100 * n / total:5.1f}%  {frame}")
        print()
    return 0


if __name__ == "__main__":
    wrk.ensure_wrk()
    sys.exit(main())
