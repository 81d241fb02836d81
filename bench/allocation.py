"""The allocation hop on its own: wrk against account_service's `POST /internal/v1/allocations`
(key lookup in memory, candidate filter, one Redis Lua call that picks and reserves), the call the
proxy makes before every upstream attempt."""

from __future__ import annotations

import orjson

from bench import procstat, wrk
from bench.stack import Stack
from shared.settings import DEV_SERVICE_TOKEN


def measure(stack: Stack, *, duration_s: int) -> dict[str, float]:
    url = f"{stack.account_service_url}/internal/v1/allocations"
    body = orjson.dumps({"api_key": stack.keys["alloc"], "capability": "chat", "model": "gpt-4o-mini"})
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {DEV_SERVICE_TOKEN}"}
    results: dict[str, float] = {}
    for clients in (1, 32):
        pid = stack.pids("account_service")
        before = procstat.snapshot(pid)
        run = wrk.run(url, body=body, headers=headers, connections=clients, threads=min(2, clients),
                      duration_s=duration_s)  # fmt: skip
        cpu = procstat.cpu_used(before, procstat.snapshot(pid))["account_service"]
        if run.errors:
            raise wrk.WrkError(f"allocation bench: {run.errors} failed of {run.requests} requests")
        results[f"p50_ms_c{clients}"] = run.latency_ms["50"]
        results[f"p99_ms_c{clients}"] = run.latency_ms["99"]
        results[f"rps_c{clients}"] = run.ok_rps
        results[f"cpu_us_per_allocation_c{clients}"] = cpu / max(run.requests, 1) * 1e6
    return results


def format_table(results: dict[str, float]) -> str:
    rows = [
        ("latency p50, 1 client", f"{results['p50_ms_c1']:.2f} ms"),
        ("latency p99, 1 client", f"{results['p99_ms_c1']:.2f} ms"),
        ("allocations/s, 1 client", f"{results['rps_c1']:,.0f}/s"),
        ("latency p50, 32 clients", f"{results['p50_ms_c32']:.2f} ms"),
        ("latency p99, 32 clients", f"{results['p99_ms_c32']:.2f} ms"),
        ("allocations/s, 32 clients", f"{results['rps_c32']:,.0f}/s"),
        ("account_service CPU per allocation, 32 clients", f"{results['cpu_us_per_allocation_c32']:,.0f} us"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(["[Allocation: POST /internal/v1/allocations, wrk straight at account_service]"]
                     + [f"{name.ljust(width)}  {value:>12}" for name, value in rows])  # fmt: skip
