"""Watching the event stream (`poolgate events tail`, the console's event page) against the real
RabbitMQ: only the events the pattern names, batches unpacked, and the queue gone when the watch ends,
also when its watcher is cancelled (a browser that went away)."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import pytest
from aio_pika.exceptions import ChannelNotFoundEntity

from shared.messages import Broker, Envelope
from shared.messages.contracts import AccountCreated, UserChanged
from shared.messages.watch import is_pattern, watch


@pytest.fixture
async def broker(infra):
    broker = Broker(
        amqp_url=infra.amqp_url,
        exchange=f"{infra.exchange}.watch.{uuid.uuid4().hex[:6]}",
        queue_prefix=infra.queue_prefix,
        producer="test",
    )
    await broker.connect()
    yield broker
    channel = await broker.connection.channel()
    await channel.exchange_delete(broker._exchange_name)
    await broker.close()


async def _exists(broker: Broker, queue: str) -> bool:
    channel = await broker.connection.channel()
    try:
        await channel.declare_queue(queue, passive=True)
    except ChannelNotFoundEntity:
        return False
    await channel.close()
    return True


async def _until_gone(broker: Broker, queue: str) -> None:
    for _ in range(50):
        if not await _exists(broker, queue):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{queue} is still there")


def _created() -> AccountCreated:
    return AccountCreated(account_id=uuid.uuid4().hex, kind="kiro", owner_id="u")


async def test_a_watch_sees_the_events_its_pattern_names_and_batches_one_by_one(broker):
    async with watch(broker.connection, exchange=broker._exchange_name, pattern="account.*") as events:
        await broker.publish(UserChanged(user_id="not-this-one"))
        first = await broker.publish(_created())
        batch = [broker.envelope(_created()) for _ in range(3)]
        await broker.publish_batch(batch)

        seen: list[Envelope | str] = []
        while len(seen) < 4:
            got = await events.next(5.0)
            assert got is not None, f"only {len(seen)} events arrived"
            seen += got
        assert await events.next(0.3) is None, "nothing else matches"
    assert [e.id for e in seen] == [first.id, *(e.id for e in batch)]
    assert all(isinstance(e, Envelope) and e.type == "account.created" for e in seen)
    await _until_gone(broker, events.queue)


async def test_a_message_that_is_no_envelope_is_shown_as_text(broker):
    async with watch(broker.connection, exchange=broker._exchange_name, pattern="#") as events:
        channel = await broker.connection.channel()
        exchange = await channel.get_exchange(broker._exchange_name)
        await exchange.publish(aio_pika.Message(b"not json"), routing_key="odd.thing")
        await channel.close()
        assert await events.next(5.0) == ["not json"]


async def test_the_queue_is_deleted_when_the_watcher_is_cancelled(broker):
    opened: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def watcher() -> None:
        async with watch(broker.connection, exchange=broker._exchange_name, pattern="#") as events:
            opened.set_result(events.queue)
            await events.next(60.0)

    task = asyncio.create_task(watcher())
    queue = await asyncio.wait_for(opened, 5.0)
    assert await _exists(broker, queue)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _until_gone(broker, queue)


@pytest.mark.parametrize("pattern", ["#", "account.*", "usage.recorded", "*.changed", "a-b_c.#.d"])
def test_routing_key_patterns_are_accepted(pattern):
    assert is_pattern(pattern)


@pytest.mark.parametrize("pattern", ["", "account.", ".x", "a..b", "acc ount", "a.b*", "é", "x" * 256])
def test_anything_else_is_not_a_pattern(pattern):
    assert not is_pattern(pattern)


async def test_a_watch_refuses_what_is_not_a_pattern(broker):
    with pytest.raises(ValueError):
        async with watch(broker.connection, exchange=broker._exchange_name, pattern="a..b"):
            pass
