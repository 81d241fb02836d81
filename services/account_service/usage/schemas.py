"""The management API's usage answers: totals per group, and a time series."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.account_service.usage import histogram
from services.account_service.usage.repository import Sums
from services.account_service.usage.rollup import OUTCOMES

By = Literal["key", "account", "model", "user"]
Bucket = Literal["hour", "day"]


class Percentiles(BaseModel):
    """Milliseconds, read from log-scale histograms (within about 9%); null without calls."""

    p50: float | None
    p95: float | None

    @classmethod
    def of(cls, counts: list[int]) -> Percentiles:
        return cls(p50=histogram.percentile(counts, 0.50), p95=histogram.percentile(counts, 0.95))


class UsageTotals(BaseModel):
    requests: int
    successes: int
    failures: int
    failures_by_outcome: dict[str, int] = Field(
        description="Failed calls per outcome (rate_limited, upstream_error, timeout, ...),"
        " only outcomes that happened"
    )
    input_tokens: int
    output_tokens: int
    images: int
    video_seconds: float
    latency_ms: Percentiles
    ttfb_ms: Percentiles = Field(description="Time to the first byte of the upstream's answer")

    @classmethod
    def fields_of(cls, sums: Sums) -> dict:
        by_outcome = {name: n for name, n in zip(OUTCOMES, sums.outcomes, strict=False) if n}
        by_outcome.pop("success", None)
        return {
            "requests": sums.requests,
            "successes": sums.successes,
            "failures": sums.requests - sums.successes,
            "failures_by_outcome": by_outcome,
            "input_tokens": sums.input_tokens,
            "output_tokens": sums.output_tokens,
            "images": sums.images,
            "video_seconds": round(sums.video_seconds, 3),
            "latency_ms": Percentiles.of(sums.latency),
            "ttfb_ms": Percentiles.of(sums.ttfb),
        }

    @classmethod
    def of(cls, sums: Sums) -> UsageTotals:
        return cls(**cls.fields_of(sums))


class UsageGroup(UsageTotals):
    id: str = Field(description="The key's, account's or user's id, or the model")
    name: str | None = Field(
        description="The key's name (or prefix), account's name, username or model;"
        " null for a key or account deleted since"
    )


class UsageReport(BaseModel):
    by: By
    since: datetime = Field(description="Start of the first hour counted")
    until: datetime = Field(description="End of the last hour counted (exclusive)")
    groups: list[UsageGroup] = Field(description="Most requests first, at most `limit`")
    more: int = Field(description="Groups left out past `limit` (counted in `total`)")
    total: UsageTotals


class UsagePoint(UsageTotals):
    start: datetime


class UsageSeries(BaseModel):
    bucket: Bucket
    since: datetime
    until: datetime
    points: list[UsagePoint] = Field(description="One per hour or day, oldest first, empty ones included")
