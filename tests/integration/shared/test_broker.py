"""The consumer wrapper's acknowledgement policy against the real RabbitMQ and Redis."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import pytest

from shared.messages import AckPolicy, Broker, Envelope
from shared.messages.contracts import AccountCreated


@pytest.fixture
async def broker(infra, redis):
    # A private exchange and queue prefix per test, so messages from other tests never interfere.
    suffix = uuid.uuid4().hex[:6]
    broker = Broker(
        amqp_url=infra.amqp_url,
        exchange=f"{infra.exchange}.{suffix}",
        queue_prefix=f"{infra.queue_prefix}.{suffix}",
        producer="test",
        redis=redis,
        redis_prefix=infra.redis_prefix,
    )
    await broker.connect()
    yield broker
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        for q in ("c",):
            for tail in ("", ".retry", ".dead"):
                await channel.queue_delete(f"{infra.queue_prefix}.{suffix}.{q}{tail}")
        await channel.exchange_delete(f"{infra.exchange}.{suffix}")
    await broker.close()


def _event() -> AccountCreated:
    return AccountCreated(account_id=uuid.uuid4().hex, kind="custom_api", owner_id="u")


async def _dead_letters(broker: Broker, name: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    channel = await broker.connection.channel()
    queue = await channel.declare_queue(broker.queue(name).dead, durable=True, passive=True)
    found = []
    while (message := await queue.get(fail=False)) is not None:
        await message.ack()
        found.append(message)
    return found


async def test_a_failing_handler_is_retried_with_delay_then_dead_lettered(broker):
    attempts: list[float] = []

    async def always_fails(envelope: Envelope) -> None:
        attempts.append(asyncio.get_running_loop().time())
        raise RuntimeError("upstream down")

    await broker.consume(
        "c", ["account.created"], always_fails, policy=AckPolicy(max_attempts=3, retry_delay_ms=200)
    )
    sent = await broker.publish(_event())
    async with asyncio.timeout(10):
        while len(attempts) < 3:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    assert len(attempts) == 3, "exactly max_attempts tries"
    assert attempts[1] - attempts[0] >= 0.15, "the retry waited in the delay queue"
    dead = await _dead_letters(broker, "c")
    assert [m.message_id for m in dead] == [sent.id]
    assert "upstream down" in dead[0].headers["x-poolgate-error"]


async def test_a_transient_failure_succeeds_on_retry(broker):
    calls = 0

    async def fails_once(envelope: Envelope) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("blip")

    await broker.consume(
        "c", ["account.created"], fails_once, policy=AckPolicy(max_attempts=3, retry_delay_ms=100)
    )
    await broker.publish(_event())
    async with asyncio.timeout(10):
        while calls < 2:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    assert calls == 2
    assert await _dead_letters(broker, "c") == []


async def test_an_unreachable_dependency_is_waited_for_never_dead_lettered(broker):
    """Far more failures than max_attempts, all of them "PostgreSQL/Redis/account_service is away":
    the message never goes to the retry or dead queue, and is handled once the dependency is back."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from shared.errors import DependencyUnavailable

    outages = [
        ConnectionRefusedError("postgres"),
        RedisConnectionError("redis"),
        DependencyUnavailable("account_service unreachable"),
    ] * 3
    calls = 0

    async def handler(envelope: Envelope) -> None:
        nonlocal calls
        calls += 1
        if outages:
            raise outages.pop(0)

    await broker.consume(
        "c",
        ["account.created"],
        handler,
        policy=AckPolicy(max_attempts=2, retry_delay_ms=100, wait_first_s=0.02, wait_max_s=0.1),
    )
    sent = await broker.publish(_event())
    async with asyncio.timeout(15):
        while calls < 10:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    assert calls == 10, "nine outages waited out, then handled once"
    assert await _dead_letters(broker, "c") == []
    channel = await broker.connection.channel()
    for name in (broker.queue("c").name, broker.queue("c").retry):
        queue = await channel.declare_queue(name, durable=True, passive=True)
        assert queue.declaration_result.message_count == 0, f"{name} is empty: {sent.id} was acked"


async def test_malformed_messages_go_straight_to_the_dead_letter_queue(broker):
    handled = []

    async def handler(envelope: Envelope) -> None:
        handled.append(envelope)

    await broker.consume("c", ["account.created"], handler)
    channel = await broker.connection.channel()
    exchange = await channel.get_exchange(broker._exchange_name)
    await exchange.publish(aio_pika.Message(b"{not json", message_id="bad-1"), routing_key="account.created")
    async with asyncio.timeout(10):
        while not (dead := await _dead_letters(broker, "c")):
            await asyncio.sleep(0.1)
    assert [m.message_id for m in dead] == ["bad-1"]
    assert handled == []


async def test_a_redelivered_message_id_is_processed_once(broker):
    handled = []

    async def handler(envelope: Envelope) -> None:
        handled.append(envelope.id)

    await broker.consume("c", ["account.created"], handler)
    envelope = broker.envelope(_event())
    await broker.publish(envelope)
    await broker.publish(envelope)  # the same id again, as after a relay crash before its delete
    await broker.publish(_event())
    async with asyncio.timeout(10):
        while len(handled) < 2:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    assert handled.count(envelope.id) == 1
    assert len(handled) == 2


async def test_a_batch_message_is_unpacked_into_its_envelopes_each_processed_once(broker):
    handled = []

    async def handler(envelope: Envelope) -> None:
        handled.append(envelope.id)

    await broker.consume("c", ["account.created"], handler)
    envelopes = [broker.envelope(_event()) for _ in range(3)]
    await broker.publish_batch(envelopes)
    await broker.publish_batch(envelopes[1:])  # a republished part of the batch is not reprocessed
    async with asyncio.timeout(10):
        while len(handled) < 3:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    assert handled == [e.id for e in envelopes]


async def test_publish_batch_refuses_mixed_types(broker):
    from shared.messages.contracts import UserChanged

    with pytest.raises(ValueError, match="one type"):
        await broker.publish_batch([broker.envelope(_event()), broker.envelope(UserChanged(user_id="u"))])


async def test_a_retried_batch_message_keeps_its_message_id(broker):
    """Consumers that claim message ids (the usage inbox) see a retried batch under its first id."""
    seen: list[str] = []

    async def fails_first(deliveries) -> None:
        seen.extend(d.message_id for d in deliveries)
        if len(seen) == 1:
            raise RuntimeError("a bug, once")

    await broker.consume_batches(
        "c", ["account.created"], fails_first, policy=AckPolicy(max_attempts=3, retry_delay_ms=100)
    )
    await broker.publish_batch([broker.envelope(_event()), broker.envelope(_event())])
    async with asyncio.timeout(10):
        while len(seen) < 2:
            await asyncio.sleep(0.05)
    assert seen[0].startswith("batch-") and seen == [seen[0], seen[0]]


async def _ready_count(infra, broker: Broker, name: str) -> int:
    """Messages waiting in a consumer queue (not delivered, or requeued), seen from a new connection."""
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(broker.queue(name).name, durable=True, passive=True)
        return queue.declaration_result.message_count


async def test_a_message_being_handled_when_the_consumer_stops_is_finished_and_acked(infra, broker):
    started, release = asyncio.Event(), asyncio.Event()
    handled: list[str] = []

    async def slow(envelope: Envelope) -> None:
        started.set()
        await release.wait()
        handled.append(envelope.id)

    await broker.consume("c", ["account.created"], slow)
    sent = await broker.publish(_event())
    await started.wait()
    closing = asyncio.ensure_future(broker.close())  # what a service's shutdown does on SIGTERM
    await until_true(lambda: broker._stopped)
    later = await broker.publish(_event())  # after the consumer stopped: for another replica
    release.set()
    await closing
    assert broker.connection.is_closed
    assert handled == [sent.id], "the message in hand was handled once, the later one not taken"
    # Acked before the connection closed: nothing of it is requeued; only the later message waits.
    assert await _ready_count(infra, broker, "c") == 1
    assert later.id not in handled


async def test_a_batch_waiting_for_its_window_is_handled_when_the_consumer_stops(infra, broker):
    handled: list[str] = []

    async def record(deliveries) -> None:
        handled.extend(e.id for d in deliveries for e in d.envelopes)

    await broker.consume_batches("c", ["account.created"], record, batch_size=100, batch_window_s=3600)
    sent = await broker.publish(_event())
    while await _ready_count(infra, broker, "c"):  # delivered to the consumer, waiting in its batch
        await asyncio.sleep(0.02)
    await broker.close()
    assert handled == [sent.id]
    assert await _ready_count(infra, broker, "c") == 0


async def test_a_handler_still_running_at_the_drain_deadline_leaves_its_message_for_redelivery(infra, redis):
    suffix = uuid.uuid4().hex[:6]
    broker = Broker(
        amqp_url=infra.amqp_url,
        exchange=f"{infra.exchange}.{suffix}",
        queue_prefix=f"{infra.queue_prefix}.{suffix}",
        producer="test",
        redis=redis,
        redis_prefix=infra.redis_prefix,
        drain_timeout_s=0.2,
    )
    await broker.connect()
    started = asyncio.Event()

    async def stuck(envelope: Envelope) -> None:
        started.set()
        await asyncio.Event().wait()

    try:
        await broker.consume("c", ["account.created"], stuck)
        await broker.publish(_event())
        await started.wait()
        await broker.close()
        assert await _ready_count(infra, broker, "c") == 1, "requeued for another consumer, not lost"
    finally:
        connection = await aio_pika.connect(infra.amqp_url)
        async with connection:
            channel = await connection.channel()
            for tail in ("", ".retry", ".dead"):
                await channel.queue_delete(f"{infra.queue_prefix}.{suffix}.c{tail}")
            await channel.exchange_delete(f"{infra.exchange}.{suffix}")


async def until_true(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0.01)
