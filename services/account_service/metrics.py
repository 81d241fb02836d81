"""Prometheus metrics of account_service.

Recorded as things happen: allocation answers and their time, degraded allocation (Redis away), the
outbox relay, console pages watching events. Read when Prometheus scrapes (`shared/metrics.py`
`Reading`, cached a few seconds): accounts by kind and status, the outbox's unsent events, and the
consumer queues' depth.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import get_args

import asyncpg
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from services.account_service.accounts import repository as accounts
from services.account_service.accounts.live import cooling_by_kind
from services.account_service.accounts.schemas import Kind, Status
from services.account_service.allocation.picker import Picks
from services.account_service.outbox import repository as outbox
from shared.day_boundary import DayBoundary
from shared.errors import Forbidden, InvalidRequest, NoAccountAvailable, RateLimited, Unauthenticated
from shared.messages import Broker
from shared.messages.depth import queue_reading
from shared.messages.topology import CONSUMER_QUEUES
from shared.metrics import Reading

ALLOCATIONS = Counter("poolgate_allocations_total", "Allocation answers, by result", ["result"])
ALLOCATION_SECONDS = Histogram(
    "poolgate_allocation_duration_seconds",
    "Time account_service takes to answer an allocation (an account or a refusal)",
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25),
)
DEGRADED = Gauge(
    "poolgate_allocation_degraded",
    "1 while Redis is unreachable and a replica allocates from its own lease and cooldown memory",
    multiprocess_mode="livemax",
)
STICKY_LOOKUPS = Counter(
    "poolgate_sticky_lookups_total",
    "Allocations of chat calls by what their sticky session found (allocation/sticky.py): `hit` (the "
    "bound account), `moved` (it could not serve: bound anew), `new` (no binding yet), `none` (no session)",
    ["result"],
)
OUTBOX_RELAYED = Counter("poolgate_outbox_relayed_total", "Outbox events confirmed by RabbitMQ")
OUTBOX_RELAY_FAILURES = Counter("poolgate_outbox_relay_failures_total", "Outbox relay rounds that failed")
CONSOLE_EVENT_WATCHES = Gauge(
    "poolgate_console_event_watches",
    "Console pages watching the event stream now",
    multiprocess_mode="livesum",
)

_REFUSALS: dict[type[Exception], str] = {
    Unauthenticated: "unauthenticated",
    Forbidden: "forbidden",
    NoAccountAvailable: "no_account_available",
    InvalidRequest: "invalid_request",
    RateLimited: "key_limit",
}
REFUSED = tuple(_REFUSALS)
_allocated = ALLOCATIONS.labels("ok")
_refused = {cls: ALLOCATIONS.labels(result) for cls, result in _REFUSALS.items()}


def count_allocation(refusal: Exception | None, seconds: float) -> None:
    """One allocation answered: an account (`refusal` None) or one of the `REFUSED` refusals."""
    if refusal is None:
        _allocated.inc()
    else:
        _refused[next(cls for cls in REFUSED if isinstance(refusal, cls))].inc()
    ALLOCATION_SECONDS.observe(seconds)


_sticky = {result: STICKY_LOOKUPS.labels(result) for result in ("hit", "moved", "new", "none")}


def count_sticky(result: str | None) -> None:
    """What an allocation's sticky lookup found; None (no shared state to keep bindings in): `none`."""
    _sticky.get(result or "none", _sticky["none"]).inc()


def accounts_family(counts: Mapping[tuple[str, str], int], cooling: Mapping[str, int]) -> Metric:
    """`poolgate_accounts` from the accounts per (kind, status) and the active ones cooling per kind."""
    family = GaugeMetricFamily(
        "poolgate_accounts",
        "Accounts by kind and status; `cooling`: active accounts cooling down now (not in `active`)",
        labels=["kind", "status"],
    )
    for kind in get_args(Kind):
        cool = cooling.get(kind, 0)
        for status in get_args(Status):
            less = cool if status == "active" else 0
            family.add_metric([kind, status], counts.get((kind, status), 0) - less)
        family.add_metric([kind, "cooling"], cool)
    return family


def unsent_family(count: int) -> Metric:
    family = GaugeMetricFamily(
        "poolgate_outbox_unsent_events", "Events written to the outbox and not yet confirmed by RabbitMQ"
    )
    family.add_metric([], count)
    return family


def readings(*, pool: asyncpg.Pool, picker: Picks, broker: Broker, days: DayBoundary) -> list[Reading]:
    async def pool_accounts() -> list[Metric]:
        async with pool.acquire() as conn:
            rows = await accounts.summary(conn, owner_id=None, day=days.today())
            cooling = await cooling_by_kind(conn, picker, owner_id=None)
        return [accounts_family({(r["kind"], r["status"]): r["accounts"] for r in rows}, cooling)]

    async def unsent() -> list[Metric]:
        async with pool.acquire() as conn:
            return [unsent_family(await outbox.pending_count(conn))]

    return [
        Reading("accounts", pool_accounts, timeout_s=2.0),
        Reading("outbox", unsent, timeout_s=2.0),
        queue_reading(broker, CONSUMER_QUEUES),
    ]
