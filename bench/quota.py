"""What quota-aware routing adds to an allocation, measured in-process against the real Redis (no
stack, a few seconds), for pools of 8 and 50 accounts: the Python work of the weights (each
candidate's quota weight, checked against its reset, and the spared accounts' tier) and the pick
script's round trip with those weights, against the plain weights. The Redis figures are the
whole pick; their difference is within a shared machine's noise, since the script does the same
work either way (the weights are whole numbers before they reach it).

    .venv/bin/python -m bench.quota [--calls 3000]

Each pick carries the release of the one before, as a client calling back to back does. Calls
alternate between the two kinds in rounds, so drift on a shared machine hits both alike; the answer
is the median of each kind's per-call time, in µs.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Sequence

from bench.micro import run, scratch_picker
from services.account_service.allocation import quota
from services.account_service.allocation.index import Candidate
from services.account_service.allocation.picker import Picker
from services.account_service.allocation.service import Allocator

SIZES = (8, 50)
ROUND = 100


def _candidates(count: int, *, spared: bool = False) -> list[Candidate]:
    """A pool whose quotas span 10%–100%, resetting in an hour (`spared`: one in ten of them spared)."""
    resets = time.time() + 3600
    return [
        Candidate(
            id=f"account-{n}",
            owner_id="owner",
            kind="custom_api",
            region=None,
            public=False,
            weight=100,
            max_concurrency=1_000_000,
            format="openai",
            models=frozenset(),
            expires_at=None,
            account={},
            upstream={},
            quota_weight=quota.pick_weight(100, 0.1 + 0.9 * n / max(1, count - 1)),
            quota_until=resets,
            quota_spared=spared and n % 10 == 9,
        )
        for n in range(count)
    ]


def _plain_args(pool: Sequence[Candidate], now: float) -> list[list[tuple[str, int, int]]]:
    return [[(c.id, c.weight, c.max_concurrency) for c in pool]]


def _quota_args(pool: Sequence[Candidate], now: float) -> list[list[tuple[str, int, int]]]:
    tiers = Allocator._tiers(list(pool), (), now)
    return [[(c.id, c.pick_weight(now), c.max_concurrency) for c in tier] for tier in tiers]


Build = Callable[[Sequence[Candidate], float], list[list[tuple[str, int, int]]]]


async def _round(picker: Picker, pool: Sequence[Candidate], build: Build, calls: int) -> float:
    """Per-call seconds of `calls` picks (weights built, first tier picked), each releasing the last."""
    previous: list = []
    started = time.perf_counter()
    for _ in range(calls):
        lease = uuid.uuid4().hex
        tiers = build(pool, time.time())
        pick = await picker.pick(lease, tiers[0], release=previous)
        assert pick.account_id is not None, pick
        previous = [(pick.account_id, lease)]
    return (time.perf_counter() - started) / calls


def _python_cost(pool: Sequence[Candidate], build: Build, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        build(pool, time.time())
    return (time.perf_counter() - started) / calls


async def measure(calls: int) -> dict[str, float]:
    results: dict[str, float] = {}
    async with scratch_picker("quota") as picker:
        for size in SIZES:
            pool = _candidates(size)
            await _round(picker, pool, _plain_args, ROUND)  # loads the script, warms the connection
            await _round(picker, pool, _quota_args, ROUND)
            plain_times: list[float] = []
            quota_times: list[float] = []
            for _ in range(max(1, calls // ROUND)):
                plain_times.append(await _round(picker, pool, _plain_args, ROUND))
                quota_times.append(await _round(picker, pool, _quota_args, ROUND))
            plain, weighted = statistics.median(plain_times), statistics.median(quota_times)
            baseline = _python_cost(pool, _plain_args, calls * 10)
            python = _python_cost(pool, _quota_args, calls * 10) - baseline
            with_spared = _python_cost(_candidates(size, spared=True), _quota_args, calls * 10) - baseline
            results[f"{size}_pick_us_plain"] = plain * 1e6
            results[f"{size}_pick_us_quota"] = weighted * 1e6
            results[f"{size}_added_us_per_call"] = (weighted - plain) * 1e6
            results[f"{size}_python_us_added"] = python * 1e6
            results[f"{size}_python_us_added_spared"] = with_spared * 1e6
    return results


def main() -> None:
    run(__doc__, measure, default_calls=3000, calls_help="picks of each kind per pool")


if __name__ == "__main__":
    main()
