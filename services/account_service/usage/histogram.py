"""Log-scale histograms of milliseconds (latency, time to first byte) whose percentiles merge: the
buckets of any hours, keys or accounts add up, and p50/p95 are read from the sum.

Bucket 0 holds values under 1 ms; bucket i (1..BUCKETS-1) holds [2^((i-1)/4), 2^(i/4)) ms, four
per doubling, so a percentile is within about 9% of the true value; the last bucket also holds
everything from 2^((BUCKETS-2)/4) ms (about 17 minutes) up. Stored arrays leave off trailing empty
buckets."""

from __future__ import annotations

import math
from collections.abc import Sequence

PER_DOUBLING = 4
BUCKETS = 82  # up to 2^20 ms


def bucket(ms: float) -> int:
    if not ms >= 1.0:  # also NaN
        return 0
    return min(int(math.log2(ms) * PER_DOUBLING) + 1, BUCKETS - 1)


def representative(index: int) -> float:
    """The value a bucket stands for: its geometric middle (0.5 ms for values under 1 ms)."""
    if index <= 0:
        return 0.5
    return 2 ** ((index - 0.5) / PER_DOUBLING)


def percentile(counts: Sequence[int], q: float) -> float | None:
    """The `q`-quantile (0 < q <= 1) of the values counted, rounded to 0.1 ms; None without values."""
    total = sum(counts)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index, n in enumerate(counts):
        seen += n
        if seen >= rank:
            return round(representative(index), 1)
    raise AssertionError("unreachable: rank <= total")


def trimmed(counts: list[int]) -> list[int]:
    end = len(counts)
    while end and counts[end - 1] == 0:
        end -= 1
    return counts[:end]


def add(into: list[int], counts: Sequence[int]) -> list[int]:
    """`into` with `counts` added element-wise (grown as needed)."""
    if len(counts) > len(into):
        into.extend([0] * (len(counts) - len(into)))
    for index, n in enumerate(counts):
        into[index] += n
    return into
