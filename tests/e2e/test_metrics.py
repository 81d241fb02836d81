"""`/metrics` of the three services while they work: calls through the proxy move the proxy's and
account_service's counters with the right labels, account states and queues are read when scraped,
the worker counts its refreshes, and a proxy with two workers answers one scrape for both."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.settings import DEV_SERVICE_TOKEN
from tests.e2e.conftest import Stack
from tests.support.processes import free_port, spawn, wait_ready

pytestmark = pytest.mark.e2e

HELLO = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}
CHAT = "/v1/chat/completions"


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a service's `/metrics`, by name and labels."""
    answer = httpx.get(f"{url}/metrics", timeout=10)
    assert answer.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def until(predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "the metric never showed it"
        time.sleep(0.2)


def test_calls_through_the_proxy_move_the_proxy_and_allocation_metrics(stack: Stack) -> None:
    key, _, _ = stack.user_with_account(fmt="openai")
    proxy_before, accounts_before = scrape(stack.proxy_url), scrape(stack.account_service_url)
    with httpx.Client(base_url=stack.proxy_url, headers={"authorization": f"Bearer {key}"}) as client:
        for _ in range(3):
            assert client.post(CHAT, json=HELLO).status_code == 200
        with client.stream("POST", CHAT, json=HELLO | {"stream": True}) as streamed:
            assert streamed.status_code == 200
            streamed.read()
        refused = client.post(CHAT, json=HELLO, headers={"authorization": "Bearer pg-not-a-key"})
        assert refused.status_code == 401
    proxy, accounts = scrape(stack.proxy_url), scrape(stack.account_service_url)

    def moved(before: dict, after: dict, name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    served = {"route": CHAT, "client_format": "openai", "kind": "custom_api", "status": "200"}
    assert moved(proxy_before, proxy, "poolgate_proxy_requests_total", **served, outcome="success") == 4
    unknown = {"route": CHAT, "client_format": "openai", "kind": "none", "status": "401"}
    assert moved(proxy_before, proxy, "poolgate_proxy_requests_total", **unknown, outcome="client_error") == 1
    attempt = {"outcome": "success", "kind": "custom_api", "upstream_format": "openai"}
    assert moved(proxy_before, proxy, "poolgate_proxy_upstream_attempts_total", **attempt) == 4
    for histogram in ("poolgate_proxy_added_latency_seconds", "poolgate_proxy_upstream_first_byte_seconds"):
        assert moved(proxy_before, proxy, f"{histogram}_count", kind="custom_api") == 4
    assert moved(proxy_before, proxy, "poolgate_proxy_allocation_duration_seconds_count") == 5
    assert ("poolgate_proxy_requests_in_flight", frozenset()) in proxy
    assert ("poolgate_proxy_usage_buffered", frozenset()) in proxy

    assert moved(accounts_before, accounts, "poolgate_allocations_total", result="ok") == 4
    assert moved(accounts_before, accounts, "poolgate_allocations_total", result="unauthenticated") == 1
    assert moved(accounts_before, accounts, "poolgate_allocation_duration_seconds_count") == 5


def test_account_service_reads_accounts_outbox_and_queues_when_scraped(stack: Stack) -> None:
    key, _, account = stack.user_with_account(fmt="openai")
    disabled = value(
        scrape(stack.account_service_url), "poolgate_accounts", kind="custom_api", status="disabled"
    )
    answer = httpx.post(
        f"{stack.account_service_url}/api/v1/accounts/{account['id']}/disable",
        headers={"authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 200
    # Read at scrape time and kept a few seconds: the next reading shows it.
    until(
        lambda: (
            value(
                scrape(stack.account_service_url), "poolgate_accounts", kind="custom_api", status="disabled"
            )
            == disabled + 1
        )
    )
    samples = scrape(stack.account_service_url)
    assert value(samples, "poolgate_accounts", kind="custom_api", status="active") >= 1
    assert ("poolgate_outbox_unsent_events", frozenset()) in samples
    usage = frozenset({("queue", "account_service.usage")})
    for name in ("ready", "retry", "dead_letter"):
        assert (f"poolgate_queue_{name}_messages", usage) in samples
    assert value(samples, "poolgate_queue_consumers", queue="account_service.usage") >= 1
    assert value(samples, "poolgate_queue_consumers", queue="refresh_worker.accounts") >= 1
    assert samples[("poolgate_allocation_degraded", frozenset())] == 0


def test_the_worker_counts_its_refreshes_and_reads_its_queues(stack: Stack) -> None:
    token = f"rt-{uuid.uuid4().hex}"
    with stack.fake("kiro") as fake:
        fake.post(
            "/_fake/kiro/lineages", json={"refresh_token": token, "region": "us-east-1", "auth": "social"}
        ).raise_for_status()
    refreshed = {"kind": "kiro", "result": "refreshed"}
    before = value(scrape(stack.worker_url), "poolgate_worker_refreshes_total", **refreshed)
    name = f"metrics-{uuid.uuid4().hex[:6]}"
    stack.cli("users", "create", name)
    key = stack.cli("keys", "create", "--user", name)
    created = httpx.post(
        f"{stack.account_service_url}/api/v1/accounts/kiro",
        headers={"authorization": f"Bearer {key}"},
        json={"refresh_token": token, "region": "us-east-1"},
    )
    assert created.status_code == 201, created.text

    until(
        lambda: value(scrape(stack.worker_url), "poolgate_worker_refreshes_total", **refreshed) == before + 1
    )
    samples = scrape(stack.worker_url)
    for queue in ("refresh_worker.accounts", "refresh_worker.dreamina"):
        assert value(samples, "poolgate_queue_consumers", queue=queue) >= 1
        assert ("poolgate_queue_dead_letter_messages", frozenset({("queue", queue)})) in samples
    assert ("poolgate_worker_events_in_flight", frozenset({("queue", "refresh_worker.accounts")})) in samples


def test_a_proxy_with_two_workers_answers_each_scrape_for_both(stack: Stack) -> None:
    key, _, _ = stack.user_with_account(fmt="openai")
    with stack.proxy_replica(POOLGATE_PROXY_WORKERS="2") as (url, _):
        for _ in range(20):  # a connection each: the workers take them in turn as they accept
            with httpx.Client(base_url=url, headers={"authorization": f"Bearer {key}"}) as client:
                assert client.post(CHAT, json=HELLO).status_code == 200
        served = {"route": CHAT, "client_format": "openai", "kind": "custom_api", "status": "200"}
        for _ in range(5):  # whichever worker answers, it counts both workers' calls
            samples = scrape(url)
            assert value(samples, "poolgate_proxy_requests_total", **served, outcome="success") == 20
            # A gauge of calls in flight is one sum over the live workers, not one series per process.
            assert [k for k in samples if k[0] == "poolgate_proxy_requests_in_flight"] == [
                ("poolgate_proxy_requests_in_flight", frozenset())
            ]


DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "poolgate.json"
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exposed_names(url: str) -> set[str]:
    """The sample names a service's `/metrics` declares, with or without samples yet."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in _SUFFIXES.get(family.type, ("",))
    }


def test_the_grafana_dashboard_uses_only_metrics_the_services_expose(stack: Stack) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    used = {name for expr in exprs for name in re.findall(r"\bpoolgate_[a-z0-9_]+", expr)}
    exposed = set().union(
        *(exposed_names(url) for url in (stack.proxy_url, stack.account_service_url, stack.worker_url))
    )
    assert len(used) >= 15
    assert used <= exposed, f"not exposed by any service: {sorted(used - exposed)}"


def test_an_account_service_without_redis_says_it_is_degraded_whichever_worker_is_scraped(
    stack: Stack,
) -> None:
    """A fresh account_service of two workers on the stack's database and bus, whose Redis is a port
    nobody listens on: allocation goes on from each worker's memory, and every scrape says so."""
    key, _, _ = stack.user_with_account(fmt="openai")
    port = free_port()
    env = {
        **stack.env,
        "POOLGATE_ACCOUNT_SERVICE_PORT": str(port),
        "POOLGATE_ACCOUNT_SERVICE_WORKERS": "2",
        "POOLGATE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    log_dir = stack.process("account_service").log_path.parent
    proc = spawn(f"account_service-{port}", ["-m", "services.account_service"], env=env, log_dir=log_dir)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(proc, f"{url}/readyz")
        allocated = httpx.post(
            f"{url}/internal/v1/allocations",
            headers={"authorization": f"Bearer {DEV_SERVICE_TOKEN}"},
            json={"api_key": key, "model": "gpt-4o-mini"},
            timeout=10,
        )
        assert allocated.status_code == 200, allocated.text  # from the worker's own lease memory
        for _ in range(5):
            assert value(scrape(url), "poolgate_allocation_degraded") == 1
    finally:
        proc.stop()
