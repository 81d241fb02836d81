"""bench.report and bench.procstat: rows against the targets, failures flagged, /proc readings."""

from __future__ import annotations

import os

from bench import procstat, report
from bench.scenarios import Run
from bench.wrk import WrkResult


def _run(path: str, clients: int, *, p50: float, p99: float, rps: float, non_2xx: int = 0) -> Run:
    requests = int(rps * 10)
    result = WrkResult(requests, 10.0, rps, {"50": p50, "75": p50, "90": p99, "99": p99}, non_2xx)
    cpu = {
        "proxy_service": 5.0,
        "account_service": 2.0,
        "fake": 1.0,
        "wrk": 1.0,
        "bare_relay": 0.0,
        "machine": 10.0,
        "other": 1.0,
    }
    return Run("nonstream_instant", path, clients, result, cpu, 10.0, 80 << 20, 0)


def _row(rows: list[report.Row], metric: str) -> report.Row:
    return next(r for r in rows if r.metric == metric)


def test_rows_compare_proxy_with_direct_and_the_targets() -> None:
    rows = report.build_rows(
        [
            _run("direct", 1, p50=0.2, p99=0.5, rps=4000),
            _run("proxy", 1, p50=0.9, p99=4.0, rps=1000),
            _run("direct", 32, p50=4.0, p99=9.0, rps=8000),
            _run("proxy", 32, p50=20.0, p99=40.0, rps=1600),
        ],
        {},
    )
    p50 = _row(rows, "latency p50, 1 client")
    assert p50.delta == 0.9 - 0.2 and p50.met is True
    p99 = _row(rows, "latency p99, 1 client")
    assert p99.met is False and p99.verdict == "NO"
    rps = _row(rows, "requests/s, 32 clients")
    assert rps.delta == 0.2 and rps.met is None  # the whole box: no target of its own
    per_core = _row(rows, "requests/s per proxy core, 32 clients")
    assert per_core.proxy == 16000 / 5.0 and per_core.met is True  # 16,000 answers on 5 s of proxy CPU
    cpu = _row(rows, "proxy CPU per request, 32 clients")
    assert cpu.direct is None and cpu.proxy == 1e6 * 5.0 / 16000
    assert "latency p50" in report.format_table(rows)


def test_bare_relay_runs_get_rows_of_their_own_and_leave_the_proxy_rows_alone() -> None:
    rows = report.build_rows(
        [
            _run("direct", 1, p50=0.2, p99=0.5, rps=4000),
            _run("proxy", 1, p50=0.9, p99=4.0, rps=1000),
            _run("relay", 1, p50=0.4, p99=0.9, rps=2500),
        ],
        {},
    )
    proxy, relay = (r for r in rows if r.metric == "latency p99, 1 client")
    assert proxy.proxy == 4.0 and report.RELAY_TITLE not in proxy.section
    assert relay.proxy == 0.9 and relay.delta == 0.9 - 0.5 and report.RELAY_TITLE in relay.section
    assert relay.met is None  # for scale: the targets are the proxy's


def test_failed_requests_void_the_verdict_and_do_not_count_as_throughput() -> None:
    runs = [
        _run("direct", 32, p50=4, p99=9, rps=8000),
        _run("proxy", 32, p50=1, p99=2, rps=3000, non_2xx=15000),
    ]
    rows = report.build_rows(runs, {})
    rps = _row(rows, "requests/s, 32 clients")
    assert rps.proxy == 1500  # 30,000 answers of which 15,000 failed, in 10 s
    assert rps.errors and rps.verdict == "ERRORS" and rps.to_json()["met"] is None
    [problem] = report.problems(runs, [])
    assert problem.startswith("nonstream_instant proxy 32 client(s): 15000 failed of 30000 requests")


def test_procstat_reads_this_process() -> None:
    before = procstat.snapshot({"me": os.getpid()})
    sum(i * i for i in range(300_000))
    after = procstat.snapshot({"me": os.getpid()})
    used = procstat.cpu_used(before, after)
    assert used["me"] >= 0 and used["machine"] >= used["me"] - 0.02
    assert procstat.rss_bytes(os.getpid()) > 10 << 20
