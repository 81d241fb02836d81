"""The usage consumer counts every call once: a batch delivered again (the proxy retrying an
unconfirmed publish, RabbitMQ redelivering after a lost ack) is skipped even when the broker
wrapper's Redis marks are gone, because the message id is claimed in the counting transaction."""

from __future__ import annotations

import uuid

from redis import Redis

from shared.messages import Broker
from shared.messages.contracts import UsageRecorded
from tests.integration.account_service._api import Api
from tests.integration.account_service.test_allocation import CLAUDE_MODEL, allocate, custom, wait_until


def _usage(account_id: str, key_id: str) -> UsageRecorded:
    return UsageRecorded(
        lease_id=uuid.uuid4().hex,
        account_id=account_id,
        api_key_id=key_id,
        user_id=str(uuid.uuid4()),
        model=CLAUDE_MODEL,
        outcome="success",
        latency_ms=5.0,
    )


def _publish(api: Api, batches: list[list]) -> None:
    async def send():
        broker = Broker(
            amqp_url=api.infra.amqp_url,
            exchange=api.infra.exchange,
            queue_prefix=api.infra.queue_prefix,
            producer="test-proxy",
        )
        await broker.connect()
        try:
            for envelopes in batches:
                await broker.publish_batch(envelopes)
        finally:
            await broker.close()

    api.client.portal.call(send)


def _counted(api: Api, key: str, account_id: str) -> int:
    return api.call("GET", f"/accounts/{account_id}", key).json()["success_count"]


def test_a_batch_delivered_twice_is_counted_once(api: Api) -> None:
    _, key = api.new_user()
    account = custom(api, key)
    wait_until(lambda: allocate(api, key).status_code == 200)
    producer = Broker(amqp_url="", exchange="", queue_prefix="", producer="test-proxy")
    key_id = str(uuid.uuid4())
    batch = [producer.envelope(_usage(account["id"], key_id)) for _ in range(3)]
    _publish(api, [batch])
    wait_until(lambda: _counted(api, key, account["id"]) == 3)

    redis = Redis.from_url(api.infra.redis_url)
    try:  # forget the wrapper's envelope marks, as after a Redis restart
        marks = list(redis.scan_iter(f"{api.infra.redis_prefix}:processed:*"))
        assert marks, "the wrapper marked the envelopes it processed"
        redis.delete(*marks)
    finally:
        redis.close()
    # The same batch again (same message id, same envelopes), then one new call as a marker: once the
    # marker is counted, the duplicate before it in the queue has been handled too.
    _publish(api, [batch, [producer.envelope(_usage(account["id"], key_id))]])
    wait_until(lambda: _counted(api, key, account["id"]) >= 4)
    assert _counted(api, key, account["id"]) == 4
    assert api.fetchval("SELECT count(*) FROM consumed_messages") >= 2
