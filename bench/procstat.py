"""CPU time and RSS of a process, and busy time of the whole machine, straight from /proc."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # The command name (field 2) may contain spaces: split after its closing parenthesis.
    return stat[stat.rindex(")") + 2 :].split()  # [0] is field 3 of proc(5)


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of `pid`, in seconds (resolution 1/CLK_TCK, usually 10 ms)."""
    fields = _stat_fields(pid)
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLK_TCK


def family(pid: int) -> list[int]:
    """`pid` and its living descendants: a service started with several workers is a supervisor
    process and one child per worker."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, ValueError, IndexError):
                pass  # gone in between
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], ())
    return found


def _sum_over_family(pid: int, one) -> float:
    total = 0
    for member in family(pid):
        try:
            total += one(member)
        except (OSError, ValueError):
            pass  # a worker that ended in between
    return total


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of `pid` and all its living descendants (every worker of a service)."""
    return _sum_over_family(pid, cpu_seconds)


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of `pid` and its descendants (all workers of a service, summed)."""
    return _sum_over_family(pid, rss_bytes)


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, steal) CPU seconds summed over all cores since boot, from the first line of /proc/stat.
    Busy is user + nice + system + irq + softirq; steal (the hypervisor's) is kept apart."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / CLK_TCK, v[7] / CLK_TCK


@dataclass(frozen=True)
class Snapshot:
    cpu: dict[str, float]  # process name -> CPU seconds
    machine_busy: float
    steal: float


def snapshot(pids: dict[str, int]) -> Snapshot:
    busy, steal = machine_cpu_seconds()
    return Snapshot({name: tree_cpu_seconds(pid) for name, pid in pids.items()}, busy, steal)


def cpu_used(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds each process used between two snapshots, plus `machine` (all cores, all processes)
    and `steal`."""
    used = {name: after.cpu[name] - before.cpu[name] for name in before.cpu}
    used["machine"] = after.machine_busy - before.machine_busy
    used["steal"] = after.steal - before.steal
    return used


def _all_cpu() -> dict[int, float]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                out[int(entry.name)] = cpu_seconds(int(entry.name))
            except (OSError, ValueError):
                pass  # gone in between
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def background(seconds: float = 2.0, top: int = 3) -> tuple[float, float, list[tuple[float, int, str]]]:
    """How busy the machine is while the bench does nothing: (cores busy, cores stolen by the
    hypervisor, [(cores, pid, command)] for the busiest processes)."""
    (busy0, steal0), before, t0 = machine_cpu_seconds(), _all_cpu(), time.monotonic()
    time.sleep(seconds)
    (busy1, steal1), after, elapsed = machine_cpu_seconds(), _all_cpu(), time.monotonic() - t0
    used = sorted(((after[p] - before[p]) / elapsed, p) for p in after.keys() & before.keys())
    busiest = [(cores, pid, _cmdline(pid)[:100]) for cores, pid in reversed(used[-top:]) if cores >= 0.05]
    return (busy1 - busy0) / elapsed, (steal1 - steal0) / elapsed, busiest
