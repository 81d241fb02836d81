"""The usage consumer counts every call once: a batch delivered again (the proxy retrying an
unconfirmed publish, RabbitMQ redelivering after a lost ack) is skipped because its message id is
claimed in the counting transaction; the broker wrapper's per-envelope Redis marks are not needed
and not written."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from redis import Redis

from services.account_service import db
from services.account_service.usage.consumer import UsageConsumer
from shared.messages import Broker, Envelope
from shared.messages.broker import Delivery
from shared.messages.contracts import UsageRecorded
from tests.integration.account_service._api import Api
from tests.integration.account_service._usage import call, key_id
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
    try:
        assert not list(redis.scan_iter(f"{api.infra.redis_prefix}:processed:*usage*")), "its inbox suffices"
    finally:
        redis.close()
    # The same batch again (same message id, same envelopes), then one new call as a marker: once the
    # marker is counted, the duplicate before it in the queue has been handled too.
    _publish(api, [batch, [producer.envelope(_usage(account["id"], key_id))]])
    wait_until(lambda: _counted(api, key, account["id"]) >= 4)
    assert _counted(api, key, account["id"]) == 4
    assert api.fetchval("SELECT count(*) FROM consumed_messages") >= 2


async def _lock_waits(conn: asyncpg.Connection, count: int) -> None:
    deadline = time.monotonic() + 10
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while await conn.fetchval(query) < count:
        assert time.monotonic() < deadline, f"{count} batches never waited for the held row"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("table", ["accounts", "api_keys"])
def test_batches_over_the_same_rows_in_opposite_orders_queue_rather_than_deadlock(
    api: Api, table: str
) -> None:
    """A row held elsewhere stops the first batch at it and the second, which names the rows the other
    way round, too: were the rows updated in batch order, the second would already hold the other
    row, and the two would deadlock (one of them retried) once the held row is let go."""
    (alice, alice_key), (bob, bob_key) = api.new_user(), api.new_user()
    users = {key_id(api, alice_key): alice["id"], key_id(api, bob_key): bob["id"]}
    keys = sorted(users, key=uuid.UUID)
    accounts = sorted((custom(api, alice_key)["id"], custom(api, alice_key)["id"]), key=uuid.UUID)
    now = datetime.now(UTC)

    def usage(account_id: str, key: str) -> Envelope:
        return call(key_id=key, user_id=users[key], account_id=account_id, model=CLAUDE_MODEL, at=now)

    if table == "accounts":
        first = [usage(accounts[0], keys[0]), usage(accounts[1], keys[0])]
        second = [usage(accounts[1], keys[0]), usage(accounts[0], keys[0])]
        held = accounts[0]
    else:  # no account in common, so only the keys' rows meet
        first = [usage(accounts[0], keys[0]), usage(accounts[0], keys[1])]
        second = [usage(accounts[1], keys[1]), usage(accounts[1], keys[0])]
        held = keys[0]
    state = api.client.app.state
    # The planner is held to what it does on tables of real size, an index lookup per row of the batch
    # in the order given; on the test's few rows it would scan the table, in its own order.
    at_scale = f"{api.database_url}?enable_seqscan=off&enable_hashjoin=off&enable_mergejoin=off"

    async def race() -> list:
        pool = await db.create_pool(at_scale, min_size=2, max_size=2)
        consumer = UsageConsumer(pool=pool, picker=state.picker, health=state.health, days=state.days)
        holder = await asyncpg.connect(api.database_url)
        try:
            async with holder.transaction():
                await holder.execute(f"SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE", uuid.UUID(held))
                batches = []
                for waiting, envelopes in enumerate((first, second), start=1):
                    delivery = Delivery(message_id=uuid.uuid4().hex, envelopes=envelopes)
                    batches.append(asyncio.create_task(consumer.handle([delivery])))
                    await _lock_waits(holder, waiting)
            return await asyncio.gather(*batches, return_exceptions=True)
        finally:
            await holder.close()
            await pool.close()

    assert api.client.portal.call(race) == [None, None], "both batches commit, neither is retried"
    counted = api.fetchval(
        "SELECT array_agg(success_count ORDER BY id) FROM accounts WHERE id = ANY($1::uuid[])",
        [uuid.UUID(a) for a in accounts],
    )
    assert counted == [2, 2]
