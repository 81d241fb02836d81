"""Allocation against the real services: kinds, models, regions, outcomes and their effects.

account_service runs in-process (its lifespan connects to the real PostgreSQL, Redis and RabbitMQ);
outcomes arrive the way the proxy sends them, as `usage.recorded` events on the run's exchange.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from shared.messages import Broker
from shared.messages.contracts import UsageRecorded
from shared.settings import DEV_SERVICE_TOKEN
from tests.integration.account_service._api import Api

SERVICE = {"authorization": f"Bearer {DEV_SERVICE_TOKEN}"}
CLAUDE_MODEL = "claude-sonnet-4-5"


def allocate(api: Api, key: str, model: str | None = CLAUDE_MODEL, **extra):
    return api.client.post(
        "/internal/v1/allocations", headers=SERVICE, json={"api_key": key, "model": model, **extra}
    )


def custom(api: Api, key: str, **fields) -> dict:
    body = {
        "api_base": "http://127.0.0.1:9/v1",
        "api_key": f"sk-{uuid.uuid4().hex}",
        "format": "claude",
        "max_concurrency": 10000,
        **fields,
    }
    response = api.call("POST", "/accounts/custom_api", key, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def active_kiro(api: Api, key: str, *, region: str, expires_in: timedelta = timedelta(hours=1)) -> dict:
    """A Kiro account as the worker leaves it after a successful refresh."""
    response = api.call(
        "POST",
        "/accounts/kiro",
        key,
        json={"refresh_token": f"rt-{uuid.uuid4().hex}", "region": region, "max_concurrency": 10000},
    )
    assert response.status_code == 201, response.text
    account = response.json()
    assert account["status"] == "pending"
    renewed = api.client.put(
        f"/internal/v1/accounts/{account['id']}/credentials",
        headers=SERVICE,
        json={
            "expires_at": (datetime.now(UTC) + expires_in).isoformat(),
            "secrets": {"access_token": "at-secret"},
        },
    )
    assert renewed.json()["status"] == "active", renewed.text
    return account


def wait_until(predicate, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def publish_usage(api: Api, account_id: str, outcome: str, **fields) -> None:
    async def send():
        broker = Broker(
            amqp_url=api.infra.amqp_url,
            exchange=api.infra.exchange,
            queue_prefix=api.infra.queue_prefix,
            producer="test-proxy",
        )
        await broker.connect()
        try:
            await broker.publish(
                UsageRecorded(
                    lease_id=uuid.uuid4().hex,
                    account_id=account_id,
                    model=CLAUDE_MODEL,
                    outcome=outcome,
                    latency_ms=5.0,
                    **{"api_key_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4())} | fields,
                )
            )
        finally:
            await broker.close()

    api.client.portal.call(send)


@pytest.mark.parametrize("region", ["us-east-1", "ap-southeast-1", "eu-west-1"])
def test_a_kiro_accounts_region_is_the_region_allocated(api: Api, region: str) -> None:
    _, key = api.new_user()
    account = active_kiro(api, key, region=region)
    answer = wait_until(lambda: (r := allocate(api, key)).status_code == 200 and r.json())
    assert answer["account"] == {
        "id": account["id"],
        "kind": "kiro",
        "name": account["name"],
        "region": region,
    }
    assert answer["upstream"]["region"] == region
    assert answer["upstream"]["credential"] == "at-secret"
    assert answer["upstream"]["format"] == "kiro"


def test_kiro_and_custom_accounts_take_part_in_one_choice(api: Api) -> None:
    _, key = api.new_user()
    kiro = active_kiro(api, key, region="eu-west-1")
    claude = custom(api, key)
    # Both accounts reach this replica's index through the queue; until then allocation may say 503.
    wait_until(
        lambda: (
            {allocate(api, key).json().get("account", {}).get("id") for _ in range(10)}
            >= {kiro["id"], claude["id"]}
        )
    )
    picks = Counter(allocate(api, key).json()["account"]["kind"] for _ in range(200))
    assert picks["kiro"] > 50 and picks["custom_api"] > 50, picks


def test_the_model_decides_which_accounts_can_serve(api: Api) -> None:
    _, key = api.new_user()
    active_kiro(api, key, region="us-east-1")
    gpt = custom(api, key, format="openai", models=["gpt-4o"])
    wait_until(lambda: allocate(api, key, model="gpt-4o").status_code == 200)
    for _ in range(20):
        assert allocate(api, key, model="gpt-4o").json()["account"]["id"] == gpt["id"]
        assert allocate(api, key, model=CLAUDE_MODEL).json()["account"]["kind"] == "kiro"
    refused = allocate(api, key, model="mistral-large")
    assert refused.status_code == 503
    assert "no active account is configured for model 'mistral-large'" in refused.json()["error"]["message"]


def test_nothing_configured_is_503_with_the_reason(api: Api) -> None:
    _, key = api.new_user()
    refused = allocate(api, key)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "no_account_available"
    assert "no active account is configured" in refused.json()["error"]["message"]


def test_a_429_outcome_cools_the_account_and_all_cooling_says_when_to_retry(api: Api) -> None:
    _, key = api.new_user()
    account = custom(api, key)
    wait_until(lambda: allocate(api, key).status_code == 200)
    publish_usage(api, account["id"], "rate_limited", status_code=429, retry_after=30)
    refused = wait_until(lambda: (r := allocate(api, key)).status_code == 503 and r)
    error = refused.json()["error"]
    assert "cooling down" in error["message"]
    assert 20 < error["retry_after"] <= 30
    assert 20 < int(refused.headers["retry-after"]) <= 30


def test_a_refused_custom_credential_makes_the_account_invalid_and_is_announced(api: Api) -> None:
    _, key = api.new_user()
    account = custom(api, key)
    wait_until(lambda: allocate(api, key).status_code == 200)
    tap = api.tap()
    try:
        publish_usage(api, account["id"], "credential_rejected", status_code=401)
        wait_until(lambda: api.call("GET", f"/accounts/{account['id']}", key).json()["status"] == "invalid")
        events = tap.wait_for(
            lambda seen: any(
                e["type"] == "account.credential_rejected" and e["data"]["account_id"] == account["id"]
                for e in seen
            )
        )
    finally:
        tap.close()
    assert api.call("GET", f"/accounts/{account['id']}", key).json()["status_reason"] == (
        "upstream rejected the credential (HTTP 401)"
    )
    assert any(e["type"] == "account.status_changed" and e["data"]["status"] == "invalid" for e in events)
    wait_until(lambda: allocate(api, key).status_code == 503)


def test_a_refused_kiro_token_is_sent_to_the_worker_not_invalidated(api: Api) -> None:
    _, key = api.new_user()
    account = active_kiro(api, key, region="ap-southeast-1")
    tap = api.tap()
    try:
        publish_usage(api, account["id"], "credential_rejected", status_code=403)
        tap.wait_for(
            lambda seen: any(
                e["type"] == "account.credential_rejected" and e["data"]["account_id"] == account["id"]
                for e in seen
            )
        )
    finally:
        tap.close()
    assert api.call("GET", f"/accounts/{account['id']}", key).json()["status"] == "active"


def test_an_exhausted_quota_takes_the_account_out_until_its_reset_time(api: Api) -> None:
    _, key = api.new_user()
    account = custom(api, key)
    publish_usage(api, account["id"], "exhausted", status_code=429, retry_after=7200)
    got = wait_until(
        lambda: (
            (a := api.call("GET", f"/accounts/{account['id']}", key).json())["status"] == "exhausted" and a
        )
    )
    until = datetime.fromisoformat(got["status_until"])
    assert timedelta(hours=1.9) < until - datetime.now(UTC) <= timedelta(hours=2)
    wait_until(lambda: allocate(api, key).status_code == 503)


def test_repeated_server_errors_cool_the_account_briefly(api: Api) -> None:
    _, key = api.new_user()
    account = custom(api, key)
    wait_until(lambda: allocate(api, key).status_code == 200)
    for _ in range(3):
        publish_usage(api, account["id"], "upstream_error", status_code=502)
    refused = wait_until(lambda: (r := allocate(api, key)).status_code == 503 and r)
    assert 0 < refused.json()["error"]["retry_after"] <= 5


def test_allocation_requires_the_service_token(api: Api) -> None:
    _, key = api.new_user()
    for headers in ({}, {"authorization": "Bearer not-the-token"}):
        refused = api.client.post("/internal/v1/allocations", headers=headers, json={"api_key": key})
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == "internal API requires the service token"


def test_preferred_formats_serve_first_and_the_others_only_when_they_are_full(api: Api) -> None:
    _, key = api.new_user()
    openai = custom(api, key, format="openai", max_concurrency=1)
    claude = custom(api, key, format="claude")
    both = {"formats": ["openai", "claude"], "prefer": ["openai"]}
    # Both reach this replica's index through the queue; until then the other one may serve.
    first = wait_until(
        lambda: (
            (r := allocate(api, key, **both)).status_code == 200
            and r.json()["account"]["id"] == openai["id"]
            and r.json()
        )
    )
    wait_until(lambda: allocate(api, key, formats=["claude"]).status_code == 200)
    # The preferred account's one slot is taken: the other format serves, in the same call.
    assert allocate(api, key, **both).json()["account"]["id"] == claude["id"]
    # Releasing the first lease along with the next allocation makes the preferred account free again.
    again = allocate(api, key, **both, release=[[openai["id"], first["lease_id"]]])
    assert again.json()["account"]["id"] == openai["id"]
