"""The latency histograms: buckets four per doubling, percentiles within a bucket's width, sums of
histograms give the percentiles of the values together."""

from __future__ import annotations

import math
import random
import typing

import pytest

from services.account_service.usage import histogram
from services.account_service.usage.rollup import OUTCOMES, array_literal
from shared.messages.contracts import Outcome


def _of(values: list[float]) -> list[int]:
    counts = [0] * histogram.BUCKETS
    for value in values:
        counts[histogram.bucket(value)] += 1
    return counts


def _exact(values: list[float], q: float) -> float:
    return sorted(values)[math.ceil(len(values) * q) - 1]


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_a_percentile_is_within_a_buckets_width_of_the_exact_one(q):
    rng = random.Random(7)
    values = [rng.lognormvariate(6, 1.2) for _ in range(5000)]  # around 400 ms, a long tail
    estimate = histogram.percentile(_of(values), q)
    exact = _exact(values, q)
    assert abs(estimate - exact) / exact < 0.1


def test_summed_histograms_give_the_percentiles_of_all_the_values():
    fast, slow = [10.0] * 90, [2000.0] * 10
    summed = histogram.add(histogram.trimmed(_of(fast)), histogram.trimmed(_of(slow)))
    assert histogram.percentile(summed, 0.5) == pytest.approx(10, rel=0.1)
    assert histogram.percentile(summed, 0.95) == pytest.approx(2000, rel=0.1)


def test_values_out_of_range_land_in_the_first_or_last_bucket():
    assert histogram.bucket(0.2) == histogram.bucket(float("nan")) == histogram.bucket(-5) == 0
    assert histogram.bucket(1e12) == histogram.BUCKETS - 1
    assert histogram.percentile([0, 0], 0.5) is None


def test_stored_arrays_leave_off_trailing_empty_buckets():
    assert array_literal([0, 3, 0, 1, 0, 0]) == "{0,3,0,1}"
    assert array_literal([0, 0]) == "{}"


def test_every_outcome_has_its_place_in_the_stored_counts():
    assert set(OUTCOMES) == set(typing.get_args(Outcome))
