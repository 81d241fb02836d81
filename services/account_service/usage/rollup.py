"""A batch of calls rolled up per hour, API key, account and model, ready for the one upsert that
adds it to `usage_hourly` (repository.add_hourly): the batch is summed here, so a batch of thousands
of calls is as many rows as it has distinct (hour, key, account, model)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.account_service.usage import histogram
from shared.messages.contracts import UsageRecorded

# The order of `usage_hourly.outcomes`: append new outcomes, never reorder.
OUTCOMES = (
    "success",
    "rate_limited",
    "upstream_error",
    "timeout",
    "connect_error",
    "client_error",
    "credential_rejected",
    "exhausted",
    "cancelled",
    "proxy_error",  # an egress proxy failed (before 0010 also the proxy service's own failures)
    "internal_error",
)
_OUTCOME_INDEX = {name: index for index, name in enumerate(OUTCOMES)}

GroupKey = tuple[datetime, str, str, str]  # hour, api key id, account id, model


@dataclass(slots=True)
class HourTally:
    user_id: str
    requests: int = 0
    successes: int = 0
    outcomes: list[int] = field(default_factory=lambda: [0] * len(OUTCOMES))
    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    video_seconds: float = 0.0
    latency: list[int] = field(default_factory=lambda: [0] * histogram.BUCKETS)
    ttfb: list[int] = field(default_factory=lambda: [0] * histogram.BUCKETS)

    def add(self, usage: UsageRecorded) -> None:
        self.requests += 1
        self.successes += usage.outcome == "success"
        self.outcomes[_OUTCOME_INDEX[usage.outcome]] += 1
        self.input_tokens += usage.input_tokens or 0
        self.output_tokens += usage.output_tokens or 0
        self.images += usage.images or 0
        self.video_seconds += usage.video_seconds or 0.0
        self.latency[histogram.bucket(usage.latency_ms)] += 1
        if usage.first_byte_ms is not None:
            self.ttfb[histogram.bucket(usage.first_byte_ms)] += 1


def hour_of(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def roll_up(usages: Iterable[tuple[UsageRecorded, datetime]]) -> dict[GroupKey, HourTally]:
    """The calls (each with the moment it happened) summed per hour, key, account and model, in the
    order of that key (every writer locks rows in the same order: no deadlock between replicas)."""
    groups: dict[GroupKey, HourTally] = {}
    for usage, at in usages:
        key = (hour_of(at), usage.api_key_id, usage.account_id, usage.model)
        tally = groups.get(key)
        if tally is None:
            tally = groups[key] = HourTally(user_id=usage.user_id)
        tally.add(usage)
    return {key: groups[key] for key in sorted(groups)}


def array_literal(counts: list[int]) -> str:
    """A PostgreSQL array literal of the counts, trailing zeros left off."""
    return "{" + ",".join(map(str, histogram.trimmed(counts))) + "}"
