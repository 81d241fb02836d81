"""Prometheus metrics of the proxy. Label children are cached so the hot path does one dict lookup."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "poolgate_proxy_requests_total", "Client calls answered, by route and status", ["route", "status"]
)
UPSTREAM_ATTEMPTS = Counter(
    "poolgate_proxy_upstream_attempts_total", "Upstream attempts, by usage outcome", ["outcome"]
)
ADDED_SECONDS = Histogram(
    "poolgate_proxy_added_seconds",
    "Time the proxy adds to a client call (everything outside the upstream calls)",
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
FIRST_BYTE_SECONDS = Histogram(
    "poolgate_proxy_upstream_first_byte_seconds",
    "Time from sending an upstream request to its response headers",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
USAGE_DROPPED = Counter(
    "poolgate_proxy_usage_dropped_total", "Usage events dropped because the local buffer was full"
)
USAGE_BUFFERED = Gauge("poolgate_proxy_usage_buffered", "Usage events waiting to be published")

_requests: dict[tuple[str, int], Counter] = {}
_attempts: dict[str, Counter] = {}


def count_request(route: str, status: int) -> None:
    child = _requests.get((route, status))
    if child is None:
        child = _requests[(route, status)] = REQUESTS.labels(route, str(status))
    child.inc()


def count_attempt(outcome: str) -> None:
    child = _attempts.get(outcome)
    if child is None:
        child = _attempts[outcome] = UPSTREAM_ATTEMPTS.labels(outcome)
    child.inc()


LEASES_HELD = Gauge("poolgate_proxy_leases_held", "Allocation leases held by running upstream attempts")
