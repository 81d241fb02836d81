"""`python -m bench`: direct-to-upstream vs through-the-proxy, same loads, same run.

See bench/README.md for what each number means and what shares the machine's cores.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench import allocation, kiro, procstat, report, wrk
from bench.scenarios import LOADS, PATHS, RELAY, Load, Run, configure, measure, probe, sse_events, target
from bench.stack import running_stack

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "bench" / "results" / "latest.json"
SHARED = "wrk, the fake upstream, proxy_service, account_service, refresh_worker, Redis, RabbitMQ, PostgreSQL"
BACKGROUND_LIMIT = 0.2  # cores busy before the bench starts above which the figures are suspect


@dataclass
class Results:
    runs: list[Run] = field(default_factory=list)
    events_per_stream: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    proxy_rss: list[tuple[str, float, int]] = field(default_factory=list)  # (after what, time, bytes)
    allocation: dict[str, float] = field(default_factory=dict)
    kiro_cpu: dict[str, Any] = field(default_factory=dict)  # bench.kiro.measure_cpu()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each proxy run")
    parser.add_argument(
        "--only",
        choices=sorted({load.group for load in LOADS} | {"allocation"}),
        help="one group of loads (kiro: the Kiro loads and the in-process decode + convert measurement)",
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="results file (default %(default)s)")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def machine_info(args: argparse.Namespace) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    wrk_version = subprocess.run([wrk.ensure_wrk(), "-v"], capture_output=True, text=True).stdout
    busy, steal, busiest = procstat.background()
    return {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(), "cpu": model, "python": platform.python_version(),
        "wrk": wrk_version.splitlines()[0].strip() if wrk_version else "?", "commit": commit.stdout.strip(),
        "duration_s": args.duration, "warmup_s": args.warmup, "only": args.only,
        "shared_cores": SHARED,
        "background_cores_busy": round(busy, 2), "background_cores_stolen": round(steal, 2),
        "background_busiest": [{"cores": round(c, 2), "pid": p, "command": cmd} for c, p, cmd in busiest],
    }  # fmt: skip


def run_loads(args: argparse.Namespace, results: Results) -> None:
    with running_stack() as stack:
        log(f"stack up, service logs in {stack.log_dir}")
        proxy_pid = stack.pids("proxy_service")["proxy_service"]
        results.proxy_rss.append(("start-up", time.monotonic(), procstat.tree_rss_bytes(proxy_pid)))
        for load in [load for load in LOADS if args.only in (None, load.group)]:
            configure(stack, load)
            paths = (*PATHS, RELAY) if load.relay else PATHS
            bodies = {path: probe(target(stack, load, path)) for path in paths}
            check_answers(load, bodies, results)
            for clients in load.clients:
                for path in paths:
                    log(f"{load.name}: {path}, {clients} client(s), {args.duration} s")
                    run = measure(stack, load, path, clients, duration_s=args.duration, warmup_s=args.warmup)
                    if run.wrk.errors:
                        log(f"!!! {run.wrk.errors} FAILED REQUESTS of {run.wrk.requests} in this run")
                    results.runs.append(run)
                    if path == "proxy":
                        label = f"{load.name} c={clients}"
                        results.proxy_rss.append((label, time.monotonic(), run.proxy_rss_after))
        # Last: it reserves leases it never releases, which `leases held` would count for a minute.
        if args.only in (None, "allocation"):
            log(f"allocation: 1 and 32 clients, {args.duration} s each")
            results.allocation = allocation.measure(stack, duration_s=args.duration)


def check_answers(load: Load, bodies: dict[str, bytes], results: Results) -> None:
    """What the probes answered: for streams, the upstream events per stream (for CPU per event) and,
    where the proxy relays them one for one, whether it relayed them all."""
    if load.upstream_api == "kiro":  # binary event-stream frames against the proxy's JSON / SSE
        if load.stream:
            results.events_per_stream[load.name] = len(kiro.frames(bodies["direct"]))
        problem = kiro.compare(load.name, load.stream, bodies["direct"], bodies["proxy"])
        results.problems += [problem] if problem else []
    elif load.upstream_api == "jimeng":  # the same four images, passed through untouched
        counts = {path: len(orjson.loads(body).get("data") or []) for path, body in bodies.items()}
        if counts != {"direct": 4, "proxy": 4}:
            results.problems.append(f"{load.name}: images answered per path {counts}, expected 4 each")
    elif load.stream:
        direct, proxied = sse_events(bodies["direct"]), sse_events(bodies["proxy"])
        results.events_per_stream[load.name] = direct
        if proxied != direct and load.pool == "both":  # a converter emits its own events
            results.problems.append(f"{load.name}: the proxy relayed {proxied} SSE events of {direct}")


def background_warning(info: dict[str, Any]) -> list[str]:
    busy, stolen = info["background_cores_busy"], info["background_cores_stolen"]
    if busy <= BACKGROUND_LIMIT and stolen <= BACKGROUND_LIMIT:
        return []
    lines = [f"Before the bench started, {busy} cores were busy and the hypervisor stole {stolen} cores."]
    lines += [f"  {p['cores']:.2f} cores  pid {p['pid']}  {p['command']}" for p in info["background_busiest"]]
    return [*lines, "So every figure below is pessimistic: rerun on a quiet machine."]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine_info(args)  # also installs wrk if needed, before anything starts
    if background_warning(info):
        log("WARNING: the machine is already busy before the bench: " + background_warning(info)[0])
    started, results = time.monotonic(), Results()
    try:
        run_loads(args, results)
    except (RuntimeError, wrk.WrkError) as exc:
        log(f"FAILED: {exc}")
        return 1
    if args.only in (None, "kiro"):  # in this process, once the stack has stopped
        log("kiro: decode + convert CPU per event, in process")
        results.kiro_cpu = kiro.measure_cpu()
    info["elapsed_s"] = round(time.monotonic() - started, 1)
    rows = report.build_rows(results.runs, results.events_per_stream) + report.memory_rows(results.proxy_rss)
    rows += report.kiro_cpu_rows(results.kiro_cpu)
    problems = report.problems(results.runs, results.problems)
    noise = report.noise(results.runs)

    print(f"PoolGate bench: direct to a local fake upstream vs through the proxy, {args.duration} s per run.")
    print(f"Machine: {info['cores']} cores ({info['cpu']}) shared by {SHARED}: the figures are")
    print("for the whole box, not for a dedicated proxy core. Targets: DESIGN.md §9.")
    for line in background_warning(info):
        print(f"!!! {line}")
    print()
    print(report.format_table(rows))
    print()
    if results.allocation:
        print(allocation.format_table(results.allocation))
        print()
    print(report.format_cpu(results.runs, info["cores"] or 0))
    if noise:
        print("\n!!! NOISE: other processes or guests took CPU during these runs; figures are pessimistic:")
        for line in noise:
            print(f"!!!   {line}")
    if problems:
        print(
            "\n!!! PROBLEMS: the figures above include failed requests or broken streams; do not trust them:"
        )
        for problem in problems:
            print(f"!!!   {problem}")
    report.write_json(args.json, {
        "meta": info, "events_per_stream": results.events_per_stream, "rows": [r.to_json() for r in rows],
        "runs": [r.to_json() for r in results.runs], "allocation": results.allocation,
        "kiro_cpu": results.kiro_cpu,
        "proxy_rss": [{"after": a, "t": t, "bytes": b} for a, t, b in results.proxy_rss],
        "problems": problems, "noise": noise,
    })  # fmt: skip
    print(f"\nJSON: {args.json}   (bench took {info['elapsed_s']} s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
