"""Alerts by webhook end to end: events heard on the real broker become signed POSTs to a real HTTP
receiver (tests/fakes/webhook_receiver.py), retried with backoff, logged, and never sent twice.

account_service runs in-process with a short backoff (`POOLGATE_WEBHOOK_BACKOFF_BASE_S`) so retries
come quickly; every wait is for a condition, never for a time."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from services.account_service.outbox.writer import record
from services.account_service.webhooks.alerts import AlertConsumer
from shared.messages import Broker, Envelope
from shared.messages.contracts import AccountRefreshFailed, AccountStatusChanged, ApiKeyLimitReached
from shared.settings import DEV_SERVICE_TOKEN
from tests.integration.account_service._api import Api
from tests.integration.account_service._usage import call, consume
from tests.integration.account_service._usage import key_id as usage_key_id
from tests.integration.account_service.conftest import serving_api
from tests.support.infra import Infra
from tests.support.processes import spawn_listening

SERVICE = {"authorization": f"Bearer {DEV_SERVICE_TOKEN}"}
MAX_ATTEMPTS = 3


@pytest.fixture(scope="module")
def api(infra: Infra) -> Iterator[Api]:
    with serving_api(
        infra,
        "webhooks",
        POOLGATE_WEBHOOK_BACKOFF_BASE_S="0.2",
        POOLGATE_WEBHOOK_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        POOLGATE_WEBHOOK_POLL_S="0.2",
        POOLGATE_WEBHOOK_TIMEOUT_S="5",
        POOLGATE_POOL_UNAVAILABLE_WINDOW_S="3600",
    ) as served:
        yield served


@pytest.fixture(scope="module")
def receiver(tmp_path_factory) -> Iterator[Receiver]:
    proc, port = spawn_listening(
        "webhook-receiver", "tests.fakes.webhook_receiver", log_dir=tmp_path_factory.mktemp("receiver")
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield Receiver(client)
    finally:
        proc.stop()


class Receiver:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def url(self, name: str) -> str:
        return f"{str(self.client.base_url).rstrip('/')}/{name}"

    def script(self, name: str, **fields: Any) -> None:
        self.client.post(f"/_fake/paths/{name}", json=fields).raise_for_status()

    def requests(self, name: str | None = None) -> list[dict]:
        seen = self.client.get("/_fake/requests").json()
        return [r for r in seen if name is None or r["path"] == f"/{name}"]


def wait_until(predicate: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
    return result


def add_webhook(api: Api, receiver: Receiver, key: str, **fields: Any) -> tuple[dict, str]:
    """A webhook of the key's user to a fresh receiver path that knows its secret; (it, path)."""
    name = f"hook-{uuid.uuid4().hex[:8]}"
    created = api.call("POST", "/webhooks", key, json={"url": receiver.url(name), **fields})
    assert created.status_code == 201, created.text
    receiver.script(name, secret=created.json()["secret"])
    return created.json(), name


def custom_account(api: Api, key: str) -> dict:
    body = {"api_base": "http://127.0.0.1:9/v1", "api_key": f"sk-{uuid.uuid4().hex}", "format": "claude"}
    response = api.call("POST", "/accounts/custom_api", key, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def invalidate(api: Api, account_id: str) -> None:
    response = api.client.post(
        f"/internal/v1/accounts/{account_id}/status",
        headers=SERVICE,
        json={"status": "invalid", "reason": "upstream said 401"},
    )
    assert response.status_code == 200, response.text


def deliveries(api: Api, key: str, webhook_id: str) -> list[dict]:
    response = api.call("GET", f"/webhooks/{webhook_id}/deliveries", key)
    assert response.status_code == 200, response.text
    return response.json()


def publish(api: Api, envelope: Envelope) -> None:
    async def send() -> None:
        broker = Broker(
            amqp_url=api.infra.amqp_url,
            exchange=api.infra.exchange,
            queue_prefix=api.infra.queue_prefix,
            producer="test",
        )
        await broker.connect()
        try:
            await broker.publish(envelope)
        finally:
            await broker.close()

    asyncio.run(send())


def record_through_outbox(api: Api, event) -> None:
    async def write() -> None:
        async with api.client.app.state.pool.acquire() as conn, conn.transaction():
            await record(conn, event)

    api.client.portal.call(write)


def test_an_invalid_account_alerts_its_owner_and_the_operator_not_another_user(api: Api, receiver: Receiver):
    owner, owner_key = api.new_user()
    _, other_key = api.new_user()
    mine, mine_path = add_webhook(api, receiver, owner_key, alert_types=["account.invalid"])
    _, other_path = add_webhook(api, receiver, other_key)
    operator, operator_path = add_webhook(api, receiver, api.admin_key, operator_wide=True)
    account = custom_account(api, owner_key)

    invalidate(api, account["id"])

    got = wait_until(lambda: receiver.requests(mine_path))
    wait_until(lambda: receiver.requests(operator_path))
    (request,) = got
    assert request["event"] == "account.invalid"
    assert request["signature_valid"], request
    assert request["content_type"] == "application/json"
    body = orjson.loads(request["body"])
    assert body["type"] == "account.invalid"
    assert body["data"]["account_id"] == account["id"]
    assert body["data"]["reason"] == "upstream said 401"
    assert body["data"]["username"] == owner["username"]
    assert "secret" not in request["body"] and "sk-" not in request["body"]
    (to_operator,) = receiver.requests(operator_path)
    assert to_operator["signature_valid"] and orjson.loads(to_operator["body"])["id"] == body["id"]
    assert to_operator["delivery"] != request["delivery"]  # one delivery per webhook
    (logged,) = wait_until(
        lambda: [d for d in deliveries(api, owner_key, mine["id"]) if d["status"] == "delivered"]
    )
    assert logged["id"] == request["delivery"] and logged["attempts"] == 1
    assert logged["last_status_code"] == 200
    assert deliveries(api, api.admin_key, operator["id"])[0]["status"] in ("pending", "delivered")
    assert receiver.requests(other_path) == []


def test_a_failing_receiver_gets_the_delivery_on_the_third_attempt(api: Api, receiver: Receiver):
    _, key = api.new_user()
    hook, path = add_webhook(api, receiver, key)
    receiver.script(path, fail_times=2, fail_status=500)

    sent = api.call("POST", f"/webhooks/{hook['id']}/test", key)
    assert sent.status_code == 202, sent.text
    assert sent.json()["status"] == "pending" and sent.json()["alert_type"] == "webhook.test"

    (done,) = wait_until(lambda: [d for d in deliveries(api, key, hook["id"]) if d["status"] == "delivered"])
    assert done["attempts"] == 3 and done["last_status_code"] == 200 and done["last_error"] is None
    got = receiver.requests(path)
    assert [r["answered"] for r in got] == [500, 500, 200]
    assert {r["delivery"] for r in got} == {done["id"]}  # the same id on every attempt
    assert all(r["signature_valid"] and r["event"] == "webhook.test" for r in got)
    assert len({r["body"] for r in got}) == 1


def test_a_delivery_gives_up_after_its_last_attempt_and_is_logged_failed(api: Api, receiver: Receiver):
    _, key = api.new_user()
    hook, path = add_webhook(api, receiver, key)
    receiver.script(path, fail_times=100, fail_status=503)

    api.call("POST", f"/webhooks/{hook['id']}/test", key)

    (failed,) = wait_until(lambda: [d for d in deliveries(api, key, hook["id"]) if d["status"] == "failed"])
    assert failed["attempts"] == MAX_ATTEMPTS
    assert failed["last_status_code"] == 503 and failed["last_error"] == "HTTP 503"
    assert failed["next_attempt_at"] is None and failed["finished_at"] is not None
    assert len(receiver.requests(path)) == MAX_ATTEMPTS


def test_an_unreachable_receiver_is_logged_with_the_error(api: Api, receiver: Receiver):
    _, key = api.new_user()
    created = api.call("POST", "/webhooks", key, json={"url": "http://127.0.0.1:9/nobody"})
    hook = created.json()
    api.call("POST", f"/webhooks/{hook['id']}/test", key)
    (failed,) = wait_until(lambda: [d for d in deliveries(api, key, hook["id"]) if d["status"] == "failed"])
    assert failed["last_status_code"] is None and "Connect" in failed["last_error"]


def test_a_redelivered_event_is_delivered_once(api: Api, receiver: Receiver):
    _, key = api.new_user()
    hook, path = add_webhook(api, receiver, key, alert_types=["account.refresh_failed"])
    account = custom_account(api, key)
    event = AccountRefreshFailed(
        account_id=account["id"], kind="custom_api", reason="login failed", final=True
    )
    envelope = Envelope.wrap(event, producer="refresh_worker")

    publish(api, envelope)
    wait_until(lambda: receiver.requests(path))
    publish(api, envelope)  # the broker delivers again: the same message id
    second = Envelope.wrap(event, producer="refresh_worker")
    publish(api, second)  # a later failure of the same account is a new alert
    wait_until(lambda: len(receiver.requests(path)) == 2)

    ids = [orjson.loads(r["body"])["id"] for r in receiver.requests(path)]
    assert sorted(ids) == sorted([envelope.id, second.id])
    assert len(deliveries(api, key, hook["id"])) == 2


def test_an_event_handled_twice_adds_one_delivery(api: Api, receiver: Receiver):
    """Past the broker's own best-effort marks (Redis): the consumer itself applies a message once."""
    _, key = api.new_user()
    hook, path = add_webhook(api, receiver, key, alert_types=["account.invalid"])
    account = custom_account(api, key)
    event = AccountStatusChanged(account_id=account["id"], kind="custom_api", status="invalid", reason="x")
    envelope = Envelope.wrap(event, producer="test")
    consumer = AlertConsumer(pool=api.client.app.state.pool, wake=api.client.app.state.dispatcher.wake)

    for _ in range(2):
        api.client.portal.call(consumer.handle, envelope)

    wait_until(lambda: receiver.requests(path))
    assert len(deliveries(api, key, hook["id"])) == 1


def test_only_a_final_refresh_failure_and_invalid_or_exhausted_statuses_alert(api: Api, receiver: Receiver):
    _, key = api.new_user()
    hook, path = add_webhook(api, receiver, key)
    account = custom_account(api, key)
    quiet = [
        AccountRefreshFailed(account_id=account["id"], kind="custom_api", reason="retrying", final=False),
        AccountStatusChanged(account_id=account["id"], kind="custom_api", status="disabled"),
    ]
    for event in quiet:
        publish(api, Envelope.wrap(event, producer="test"))
    loud = AccountStatusChanged(
        account_id=account["id"], kind="custom_api", status="exhausted", reason="quota"
    )
    publish(api, Envelope.wrap(loud, producer="test"))

    (got,) = wait_until(lambda: receiver.requests(path))
    assert got["event"] == "account.exhausted"
    # The quiet events went first through the same queue: had they alerted, they would be here too.
    assert [d["alert_type"] for d in deliveries(api, key, hook["id"])] == ["account.exhausted"]


def test_a_keys_daily_limit_alerts_its_owner(api: Api, receiver: Receiver):
    user, key = api.new_user()
    _, path = add_webhook(api, receiver, key, alert_types=["api_key.limit_reached"])
    key_id = api.call("GET", "/me", key).json()["key_id"]

    record_through_outbox(
        api, ApiKeyLimitReached(key_id=key_id, user_id=user["id"], limit="tokens_per_day", value=1000)
    )

    (got,) = wait_until(lambda: receiver.requests(path))
    assert got["event"] == "api_key.limit_reached" and got["signature_valid"]
    data = orjson.loads(got["body"])["data"]
    assert data["key_id"] == key_id and data["value"] == 1000 and data["limit"] == "tokens_per_day"


def test_a_pool_without_a_usable_account_is_announced_once_per_window(api: Api, receiver: Receiver):
    user, key = api.new_user()
    _, path = add_webhook(api, receiver, key, alert_types=["pool.unavailable"])
    tap = api.tap()
    try:
        for _ in range(5):
            refused = api.client.post(
                "/internal/v1/allocations", headers=SERVICE, json={"api_key": key, "model": "gpt-4o"}
            )
            assert refused.status_code == 503, refused.text
        refused = api.client.post(
            "/internal/v1/allocations", headers=SERVICE, json={"api_key": key, "model": "gpt-4.1"}
        )
        assert refused.status_code == 503

        api.client.portal.call(api.client.app.state.unavailable.close)  # every announcement written
        wait_until(lambda: api.fetchval("SELECT count(*) FROM outbox") == 0)  # and published
        seen = tap.wait_for(lambda events: any(e["type"] == "pool.unavailable" for e in events))
    finally:
        tap.close()
    announced = [e["data"] for e in seen if e["type"] == "pool.unavailable"]
    assert sorted(a["model"] for a in announced if a["user_id"] == user["id"]) == ["gpt-4.1", "gpt-4o"]
    wait_until(lambda: len(receiver.requests(path)) == 2)
    assert sorted(orjson.loads(r["body"])["data"]["model"] for r in receiver.requests(path)) == [
        "gpt-4.1",
        "gpt-4o",
    ]


# -- alerts said once per turn: a proxy turning unhealthy, a probe turning failed ---------------------

PROXY_PASSWORD = "pr0xy-s3cret-pass"


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def announced(tap, alert_type: str, field: str, value: str, *, until: Callable[[dict], bool]) -> list[dict]:
    """The `alert_type` events whose `field` is `value`, once one of them satisfies `until` (the tap
    reads the exchange in order, so every event published before that one is among them)."""

    def mine(seen: list[dict]) -> list[dict]:
        return [e["data"] for e in seen if e["type"] == alert_type and e["data"][field] == value]

    return mine(tap.wait_for(lambda seen: any(until(d) for d in mine(seen))))


def proxy_failure(api: Api, user: dict, key: str, account_id: str, proxy_id: str, **usage: Any) -> None:
    consume(
        api,
        [
            call(
                key_id=usage_key_id(api, key),
                user_id=user["id"],
                account_id=account_id,
                model="gpt-4o",
                at=datetime.now(UTC),
                egress_proxy_id=proxy_id,
                **usage,
            )
        ],
    )


def proxy_tested(api: Api, key: str, proxy_id: str) -> dict:
    tested = api.call("POST", f"/proxies/{proxy_id}/test", key)
    assert tested.status_code == 200, tested.text
    return tested.json()


def test_an_egress_proxy_turning_unhealthy_alerts_once_per_turn(api: Api, receiver: Receiver):
    user, key = api.new_user()
    hook, path = add_webhook(api, receiver, key, alert_types=["egress_proxy.unhealthy"])
    _, operator_path = add_webhook(
        api, receiver, api.admin_key, operator_wide=True, alert_types=["egress_proxy.unhealthy"]
    )
    body = {
        "name": f"p-{uuid.uuid4().hex[:6]}",
        "host": "127.0.0.1",
        "port": closed_port(),
        "username": "bob",
        "password": PROXY_PASSWORD,
    }
    proxy = api.call("POST", "/proxies", key, json=body).json()
    account = custom_account(api, key)
    assigned = api.call("POST", f"/proxies/{proxy['id']}/assign", key, json={"account_ids": [account["id"]]})
    assert assigned.status_code == 200, assigned.text
    tap = api.tap()
    try:
        # Failed by a test, then by a call: one turn (never checked -> unhealthy), one alert.
        assert proxy_tested(api, key, proxy["id"])["ok"] is False
        fail = {"outcome": "proxy_error", "egress_error": "second failure"}
        proxy_failure(api, user, key, account["id"], proxy["id"], **fail)
        # It carries a call again (healthy), then fails a call and a test: the second turn.
        proxy_failure(api, user, key, account["id"], proxy["id"], outcome="success")
        assert api.call("GET", f"/proxies/{proxy['id']}", key).json()["healthy"] is True
        proxy_failure(api, user, key, account["id"], proxy["id"], outcome="proxy_error", egress_error="third")
        assert proxy_tested(api, key, proxy["id"])["proxy"]["healthy"] is False
        wait_until(lambda: api.fetchval("SELECT count(*) FROM outbox") == 0)  # every event published
        seen = announced(
            tap, "egress_proxy.unhealthy", "proxy_id", proxy["id"], until=lambda d: d["error"] == "third"
        )
        assert all(PROXY_PASSWORD not in e["raw"] for e in tap.seen)
    finally:
        tap.close()
    first, second = seen  # the first test's failure and the call that failed after the recovery
    assert "ProxyConnectionError" in first["error"] and second["error"] == "third"
    for data in seen:
        assert data["name"] == body["name"] and data["user_id"] == user["id"] and data["accounts"] == 1
        assert data["url"] == f"http://bob:****@127.0.0.1:{body['port']}"

    got = wait_until(lambda: len(receiver.requests(path)) == 2 and receiver.requests(path))
    wait_until(lambda: len(receiver.requests(operator_path)) == 2)
    assert all(r["event"] == "egress_proxy.unhealthy" and r["signature_valid"] for r in got)
    assert all(PROXY_PASSWORD not in r["body"] for r in got)
    assert sorted(orjson.loads(r["body"])["data"]["error"] == "third" for r in got) == [False, True]
    assert len(deliveries(api, key, hook["id"])) == 2


def probe_report(api: Api, account_id: str, *, ok: bool, detail: str) -> None:
    body = {
        "at": datetime.now(UTC).isoformat(),
        "ok": ok,
        "method": "models",
        "status": 200 if ok else 503,
        "detail": detail,
    }
    answer = api.client.post(f"/internal/v1/accounts/{account_id}/probes", headers=SERVICE, json=body)
    assert answer.status_code == 200, answer.text


def test_a_probe_turning_failed_alerts_once_per_turn(api: Api, receiver: Receiver):
    user, key = api.new_user()
    hook, path = add_webhook(api, receiver, key, alert_types=["account.probe_failed"])
    account = custom_account(api, key)
    tap = api.tap()
    try:
        probe_report(api, account["id"], ok=False, detail="first failure")  # none before: a turn
        probe_report(api, account["id"], ok=False, detail="second failure")
        probe_report(api, account["id"], ok=True, detail="healthy")
        probe_report(api, account["id"], ok=False, detail="third failure")
        seen = announced(
            tap,
            "account.probe_failed",
            "account_id",
            account["id"],
            until=lambda d: d["detail"] == "third failure",
        )
    finally:
        tap.close()
    assert [d["detail"] for d in seen] == ["first failure", "third failure"]

    got = wait_until(lambda: len(receiver.requests(path)) == 2 and receiver.requests(path))
    bodies = sorted((orjson.loads(r["body"]) for r in got), key=lambda b: b["occurred_at"])
    assert [b["data"]["detail"] for b in bodies] == ["first failure", "third failure"]
    data = bodies[0]["data"]
    assert data["account_id"] == account["id"] and data["kind"] == "custom_api"
    assert data["name"] == account["name"] and data["method"] == "models" and data["status"] == 503
    assert data["user_id"] == user["id"] and data["username"] == user["username"]
    assert all(r["signature_valid"] and "sk-" not in r["body"] for r in got)
    assert len(deliveries(api, key, hook["id"])) == 2
