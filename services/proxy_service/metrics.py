"""Prometheus metrics of the proxy. Label children are cached so the hot path does one dict lookup
per metric; gauges of things in flight are sampled from plain counters (shared/metrics.py).

Labels: `route` and `client_format` (openai, claude, jimeng) say what the client called; `kind` is the
kind of the account that answered it (`none` when no account was allocated: a refused key, no account
free); `upstream_format` is the format the account was called in (openai, claude, kiro, jimeng).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from shared.metrics import sampled

NO_ACCOUNT = "none"

REQUESTS = Counter(
    "poolgate_proxy_requests_total",
    "Client calls answered, by route, client format, account kind, status and outcome",
    ["route", "client_format", "kind", "status", "outcome"],
)
UPSTREAM_ATTEMPTS = Counter(
    "poolgate_proxy_upstream_attempts_total",
    "Upstream attempts, by usage outcome, account kind and upstream format",
    ["outcome", "kind", "upstream_format"],
)
ADDED_SECONDS = Histogram(
    "poolgate_proxy_added_latency_seconds",
    "Time the proxy adds to a client call (everything outside the upstream calls), by account kind",
    ["kind"],
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
FIRST_BYTE_SECONDS = Histogram(
    "poolgate_proxy_upstream_first_byte_seconds",
    "Time from sending an upstream request to its response headers, by account kind",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
ALLOCATION_SECONDS = Histogram(
    "poolgate_proxy_allocation_duration_seconds",
    "The proxy's round trip to account_service for an allocation (an account or a refusal)",
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
IN_FLIGHT = Gauge(
    "poolgate_proxy_requests_in_flight",
    "Client calls being answered now (streams until their last byte)",
    multiprocess_mode="livesum",
)
USAGE_DROPPED = Counter(
    "poolgate_proxy_usage_dropped_total", "Usage events dropped because the local buffer was full"
)
USAGE_BUFFERED = Gauge(
    "poolgate_proxy_usage_buffered", "Usage events waiting to be published", multiprocess_mode="livesum"
)
LEASES_HELD = Gauge(
    "poolgate_proxy_leases_held",
    "Allocation leases held by running upstream attempts",
    multiprocess_mode="livesum",
)

_requests: dict[tuple[str, int, str], Counter] = {}
_attempts: dict[tuple[str, str, str], Counter] = {}
_added: dict[str, Histogram] = {}
_first_byte: dict[str, Histogram] = {}


def outcome_of(status: int) -> str:
    """The class of a client call's answer, for error ratios without listing statuses."""
    if status < 400:
        return "success"
    if status == 499:
        return "client_gone"
    if status == 429:
        return "rate_limited"
    return "client_error" if status < 500 else "server_error"


def count_request(route: str, client_format: str, status: int, kind: str = NO_ACCOUNT) -> None:
    child = _requests.get((route, status, kind))
    if child is None:
        child = _requests[(route, status, kind)] = REQUESTS.labels(
            route, client_format, kind, str(status), outcome_of(status)
        )
    child.inc()


def count_attempt(outcome: str, kind: str, upstream_format: str) -> None:
    child = _attempts.get((outcome, kind, upstream_format))
    if child is None:
        child = _attempts[(outcome, kind, upstream_format)] = UPSTREAM_ATTEMPTS.labels(
            outcome, kind, upstream_format
        )
    child.inc()


def observe_added(kind: str, seconds: float) -> None:
    child = _added.get(kind)
    if child is None:
        child = _added[kind] = ADDED_SECONDS.labels(kind)
    child.observe(seconds)


def observe_first_byte(kind: str, seconds: float) -> None:
    child = _first_byte.get(kind)
    if child is None:
        child = _first_byte[kind] = FIRST_BYTE_SECONDS.labels(kind)
    child.observe(seconds)


class InFlight:
    """The client calls this process is answering: a plain count, sampled into `IN_FLIGHT`."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0
        sampled(IN_FLIGHT, lambda: self.count)
