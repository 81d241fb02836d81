"""deploy/grafana/poolgate.json uses only metric names the services define, and shows each thing an
operator watches: it cannot drift from the code. (tests/e2e/test_metrics.py checks the same names
against the running services' `/metrics`.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

from services.account_service import metrics as account_service
from services.proxy_service import metrics as proxy  # noqa: F401  (registers the proxy's metrics)
from services.refresh_worker import metrics as refresh_worker  # noqa: F401
from shared.messages.depth import queue_families

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "poolgate.json"
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def defined_names() -> set[str]:
    """Every sample name the three services expose: their registered metrics and the families they
    read when scraped."""
    read_when_scraped = [
        account_service.accounts_family({}, {}),
        account_service.unsent_family(0),
        *queue_families({}, {}),
    ]
    return {
        family.name + suffix
        for family in [*REGISTRY.collect(), *read_when_scraped]
        if family.name.startswith("poolgate_")
        for suffix in _SUFFIXES[family.type]
    }


def used_names() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    assert exprs
    return {name for expr in exprs for name in re.findall(r"\bpoolgate_[a-z0-9_]+", expr)}


def test_every_metric_the_dashboard_uses_is_one_a_service_exposes() -> None:
    used = used_names()
    assert used <= defined_names(), f"unknown to every service: {sorted(used - defined_names())}"


def test_the_dashboard_shows_calls_latency_pool_queues_and_the_worker() -> None:
    assert {
        "poolgate_proxy_requests_total",
        "poolgate_proxy_added_latency_seconds_bucket",
        "poolgate_proxy_upstream_first_byte_seconds_bucket",
        "poolgate_proxy_allocation_duration_seconds_bucket",
        "poolgate_allocation_duration_seconds_bucket",
        "poolgate_proxy_requests_in_flight",
        "poolgate_accounts",
        "poolgate_queue_ready_messages",
        "poolgate_outbox_unsent_events",
        "poolgate_queue_dead_letter_messages",
        "poolgate_worker_refreshes_total",
        "poolgate_worker_logins_total",
        "poolgate_allocation_degraded",
    } <= used_names()


def test_a_misspelt_name_would_be_caught() -> None:
    assert "poolgate_proxy_requests" not in defined_names()  # a counter is only seen as `_total`
    assert "poolgate_proxy_added_latency_seconds" not in defined_names()  # a histogram by its parts
