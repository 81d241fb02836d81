"""The usage consumer rolls every call up per hour, API key, account and model in PostgreSQL, once
per AMQP message; the management API reads the rollups; the sweeper deletes those past retention."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.account_service.sweeper.service import Sweeper
from services.account_service.usage.rollup import hour_of
from shared.messages import Broker
from tests.integration.account_service._api import Api
from tests.integration.account_service._usage import call, consume, key_id
from tests.integration.account_service.test_allocation import custom, wait_until


def _user(api: Api) -> dict:
    user, key = api.new_user()
    return {"id": user["id"], "key": key, "key_id": key_id(api, key)}


def _totals(api: Api, key: str, **params) -> dict:
    response = api.call("GET", "/usage", key, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _rows(api: Api, model: str) -> int:
    return api.fetchval("SELECT count(*) FROM usage_hourly WHERE model = $1", model)


def test_a_batch_is_rolled_up_per_hour_key_account_and_model(api: Api) -> None:
    me = _user(api)
    account = custom(api, me["key"], name="rolled-up")
    model = f"model-{uuid.uuid4().hex[:6]}"
    hour = hour_of(datetime.now(UTC)) - timedelta(hours=5)
    mine = {"key_id": me["key_id"], "user_id": me["id"], "account_id": account["id"], "model": model}
    envelopes = [
        # 100 successes in one hour, latencies 1..100 ms, time to first byte 10..1000 ms
        *(
            call(
                **mine,
                at=hour + timedelta(minutes=n % 60),
                latency_ms=float(n),
                first_byte_ms=float(10 * n),
                input_tokens=10,
                output_tokens=2,
            )
            for n in range(1, 101)
        ),
        call(**mine, at=hour + timedelta(minutes=59, seconds=59), outcome="rate_limited", latency_ms=5.0),
        call(**mine, at=hour + timedelta(hours=1, seconds=1), outcome="timeout", latency_ms=30_000.0),
        call(**mine, at=hour + timedelta(hours=1, minutes=2), outcome="success", images=2, video_seconds=5.5),
    ]
    consume(api, envelopes)
    assert _rows(api, model) == 2  # one row per hour, not per call

    report = _totals(api, me["key"], by="model", model=model)
    [group] = report["groups"]
    assert group["id"] == group["name"] == model
    assert (group["requests"], group["successes"], group["failures"]) == (103, 101, 2)
    assert group["failures_by_outcome"] == {"rate_limited": 1, "timeout": 1}
    assert (group["input_tokens"], group["output_tokens"]) == (1000, 200)
    assert (group["images"], group["video_seconds"]) == (2, 5.5)
    # From the summed histograms: within a bucket's width (about 9%) of the exact values (101 values
    # of 1..100 and one each of 5, 30000 and 100: the 52nd and the 98th of 103).
    assert abs(group["latency_ms"]["p50"] - 51) / 51 < 0.1
    assert abs(group["latency_ms"]["p95"] - 97) / 97 < 0.1
    assert abs(group["ttfb_ms"]["p50"] - 500) / 500 < 0.1  # only the calls that reported one
    assert abs(group["ttfb_ms"]["p95"] - 950) / 950 < 0.1
    assert report["total"]["requests"] == 103

    series = api.call("GET", "/usage/series", me["key"], params={"since": "7h", "model": model}).json()
    by_start = {datetime.fromisoformat(p["start"]): p for p in series["points"]}
    assert by_start[hour]["requests"] == 101  # 10:59:59 is still the hour of 10:00
    assert by_start[hour + timedelta(hours=1)]["requests"] == 2
    assert by_start[hour + timedelta(hours=1)]["failures_by_outcome"] == {"timeout": 1}
    assert sum(p["requests"] for p in series["points"]) == 103
    assert len(series["points"]) == 8  # every hour from 7 hours ago to this one, empty ones too
    assert by_start[hour - timedelta(hours=1)]["latency_ms"] == {"p50": None, "p95": None}


def test_a_message_delivered_again_is_rolled_up_once_and_later_batches_add_up(api: Api) -> None:
    me = _user(api)
    account = custom(api, me["key"])
    model = f"model-{uuid.uuid4().hex[:6]}"
    at = datetime.now(UTC) - timedelta(hours=2)
    mine = {"key_id": me["key_id"], "user_id": me["id"], "account_id": account["id"], "model": model}
    batch = [call(**mine, at=at, latency_ms=50.0, input_tokens=7) for _ in range(3)]
    message_id = consume(api, batch)
    consume(api, batch, message_id=message_id)  # the same message again: skipped
    assert _totals(api, me["key"], by="key")["groups"][0]["requests"] == 3
    consume(api, [call(**mine, at=at, latency_ms=50.0, outcome="upstream_error", input_tokens=1)])
    [group] = _totals(api, me["key"], by="key")["groups"]
    assert (group["requests"], group["successes"], group["input_tokens"]) == (4, 3, 22)
    assert group["failures_by_outcome"] == {"upstream_error": 1}
    assert _rows(api, model) == 1  # the second batch added to the hour's row


def test_calls_published_through_the_broker_are_rolled_up(api: Api) -> None:
    me = _user(api)
    account = custom(api, me["key"])
    model = f"model-{uuid.uuid4().hex[:6]}"
    mine = {"key_id": me["key_id"], "user_id": me["id"], "account_id": account["id"], "model": model}
    batch = [call(**mine, at=datetime.now(UTC), output_tokens=3) for _ in range(5)]

    async def publish():
        broker = Broker(
            amqp_url=api.infra.amqp_url,
            exchange=api.infra.exchange,
            queue_prefix=api.infra.queue_prefix,
            producer="test-proxy",
        )
        await broker.connect()
        try:
            await broker.publish_batch(batch)
        finally:
            await broker.close()

    api.client.portal.call(publish)
    wait_until(lambda: _totals(api, me["key"], by="model")["total"]["requests"] == 5)
    assert _totals(api, me["key"], by="model")["total"]["output_tokens"] == 15


def test_rollups_past_the_retention_are_deleted_by_the_sweeper(api: Api) -> None:
    me = _user(api)
    account = custom(api, me["key"])
    model = f"model-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    mine = {"key_id": me["key_id"], "user_id": me["id"], "account_id": account["id"], "model": model}
    consume(
        api,
        [
            call(**mine, at=now - timedelta(days=31)),
            call(**mine, at=now - timedelta(days=29)),
            call(**mine, at=now - timedelta(hours=1)),
        ],
    )
    assert _rows(api, model) == 3
    state = api.client.app.state
    sweeper = Sweeper(
        pool=state.pool,
        dsn=api.database_url,
        redis=state.redis,
        prefix=f"{api.infra.redis_prefix}:usage-test",
        usage_retention_days=30,
    )
    assert api.client.portal.call(sweeper.prune_usage) >= 1
    assert _rows(api, model) == 2
    assert _totals(api, me["key"], by="model", since="60d")["total"]["requests"] == 2
