"""Prometheus metrics of the refresh worker: the events it handled, and in flight, the outcome of
each refresh (Kiro) or revalidation (Dreamina) and of each browser login; read when scraped, the depth
of its queues (`shared/messages/depth.py`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from shared.messages import Broker
from shared.messages.depth import queue_reading
from shared.messages.topology import DREAMINA_QUEUE, PROBE_QUEUE, REFRESH_QUEUE
from shared.metrics import Reading

HANDLED = Counter("poolgate_worker_events_total", "Events handled by the refresh worker", ["type"])
IN_FLIGHT = Gauge(
    "poolgate_worker_events_in_flight",
    "Events being handled now, by queue",
    ["queue"],
    multiprocess_mode="livesum",
)
REFRESHES = Counter(
    "poolgate_worker_refreshes_total",
    "Credential refreshes (Kiro) and sessionid revalidations (Dreamina), by account kind and result",
    ["kind", "result"],
)
PROBES = Counter(
    "poolgate_worker_probes_total",
    "Account probes, by account kind and result (ok, failed)",
    ["kind", "result"],
)
LOGINS = Counter(
    "poolgate_worker_logins_total", "Browser logins, by account kind and result", ["kind", "result"]
)


def refresh_result(kind: str, result: str) -> None:
    REFRESHES.labels(kind, result).inc()


def probe_result(kind: str, result: str) -> None:
    PROBES.labels(kind, result).inc()


def login_result(kind: str, result: str) -> None:
    LOGINS.labels(kind, result).inc()


def readings(broker: Broker) -> list[Reading]:
    return [queue_reading(broker, (REFRESH_QUEUE, DREAMINA_QUEUE, PROBE_QUEUE))]
