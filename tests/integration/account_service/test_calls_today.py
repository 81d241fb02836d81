"""Today's calls per account: counted by the usage consumer in the same statement as the lifetime
counters, in the day each call happened (here Beijing time, POOLGATE_TIMEZONE=Asia/Shanghai), and
started again by the first call of a new day; the view shows none for a day that has no calls yet.
`exhausted` lasts until the next configured day. The service's clock is injected, nothing sleeps."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from shared.messages import Broker
from shared.messages.contracts import UsageRecorded
from tests.integration.account_service._api import Api
from tests.integration.account_service.conftest import serving_api
from tests.integration.account_service.test_allocation import CLAUDE_MODEL, custom, wait_until
from tests.support.infra import Infra

# 23:00 on 1 March in Beijing, then 00:30 on 2 March.
LATE_ON_THE_1ST = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
EARLY_ON_THE_2ND = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
BEIJING_MIDNIGHT_AFTER = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(LATE_ON_THE_1ST)


@pytest.fixture(scope="module")
def api(infra: Infra, clock: Clock) -> Iterator[Api]:
    with serving_api(infra, "today", clock=clock, POOLGATE_TIMEZONE="Asia/Shanghai") as served:
        yield served


def _publish(api: Api, account_id: str, outcomes: list[str], *, at: datetime, **fields) -> None:
    _publish_calls(api, account_id, [(outcome, at) for outcome in outcomes], **fields)


def _publish_calls(api: Api, account_id: str, calls: list[tuple[str, datetime]], **fields) -> None:
    """One AMQP message carrying every call: one batch for the consumer."""
    producer = Broker(amqp_url="", exchange="", queue_prefix="", producer="test-proxy")
    envelopes = [
        producer.envelope(
            UsageRecorded(
                lease_id=uuid.uuid4().hex,
                account_id=account_id,
                api_key_id=str(uuid.uuid4()),
                user_id=str(uuid.uuid4()),
                model=CLAUDE_MODEL,
                outcome=outcome,
                latency_ms=5.0,
                **fields,
            )
        ).model_copy(update={"occurred_at": at})
        for outcome, at in calls
    ]

    async def send():
        broker = Broker(
            amqp_url=api.infra.amqp_url,
            exchange=api.infra.exchange,
            queue_prefix=api.infra.queue_prefix,
            producer="test-proxy",
        )
        await broker.connect()
        try:
            await broker.publish_batch(envelopes)
        finally:
            await broker.close()

    api.client.portal.call(send)


def _account(api: Api, key: str, account_id: str) -> dict:
    return api.call("GET", f"/accounts/{account_id}", key).json()


def test_calls_count_in_their_day_and_a_new_day_starts_again(api: Api, clock: Clock) -> None:
    clock.now = LATE_ON_THE_1ST
    _, key = api.new_user()
    account = custom(api, key)
    fresh = _account(api, key, account["id"])
    assert fresh["calls_today"] == {"day": "2026-03-01", "total": 0, "ok": 0}

    _publish(api, account["id"], ["success", "success", "upstream_error"], at=LATE_ON_THE_1ST)
    counted = wait_until(lambda: (a := _account(api, key, account["id"]))["success_count"] == 2 and a)
    assert counted["calls_today"] == {"day": "2026-03-01", "total": 3, "ok": 2}
    assert counted["fail_count"] == 1

    # The day changes in Beijing: yesterday's count is not today's, before any call of the new day.
    clock.now = EARLY_ON_THE_2ND
    assert _account(api, key, account["id"])["calls_today"] == {"day": "2026-03-02", "total": 0, "ok": 0}

    _publish(api, account["id"], ["success"], at=EARLY_ON_THE_2ND)
    new_day = wait_until(lambda: (a := _account(api, key, account["id"]))["success_count"] == 3 and a)
    assert new_day["calls_today"] == {"day": "2026-03-02", "total": 1, "ok": 1}

    # A call of the 1st delivered late counts for all time, not for the 2nd.
    _publish(api, account["id"], ["success"], at=LATE_ON_THE_1ST)
    late = wait_until(lambda: (a := _account(api, key, account["id"]))["success_count"] == 4 and a)
    assert late["calls_today"] == {"day": "2026-03-02", "total": 1, "ok": 1}
    assert api.fetchval(
        "SELECT calls_day FROM accounts WHERE id = $1", uuid.UUID(account["id"])
    ).isoformat() == ("2026-03-02")


def test_one_batch_across_midnight_counts_only_the_new_days_calls_as_today(api: Api, clock: Clock) -> None:
    clock.now = EARLY_ON_THE_2ND
    _, key = api.new_user()
    account = custom(api, key)
    calls = [
        ("success", LATE_ON_THE_1ST),
        ("success", EARLY_ON_THE_2ND),
        ("client_error", LATE_ON_THE_1ST),
        ("success", EARLY_ON_THE_2ND),
    ]
    _publish_calls(api, account["id"], calls)
    both = wait_until(lambda: (a := _account(api, key, account["id"]))["success_count"] == 3 and a)
    assert both["calls_today"] == {"day": "2026-03-02", "total": 2, "ok": 2}


def test_exhausted_lasts_until_the_next_configured_day(api: Api, clock: Clock) -> None:
    clock.now = EARLY_ON_THE_2ND
    _, key = api.new_user()
    account = api.call(
        "POST",
        "/accounts/dreamina",
        key,
        json={
            "email": f"{uuid.uuid4().hex[:8]}@x.co",
            "password": "",
            "region": "cn",
            "sessionid": "sid-today-01",
        },
    ).json()
    _publish(api, account["id"], ["exhausted"], at=EARLY_ON_THE_2ND, status_code=200)
    exhausted = wait_until(lambda: (a := _account(api, key, account["id"]))["status"] == "exhausted" and a)
    assert datetime.fromisoformat(exhausted["status_until"]) == BEIJING_MIDNIGHT_AFTER
    assert exhausted["calls_today"] == {"day": "2026-03-02", "total": 1, "ok": 0}
