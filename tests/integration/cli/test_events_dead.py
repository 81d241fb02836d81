"""`poolgate events dead` against the real RabbitMQ: messages dead-lettered by the real consumer
wrapper are listed without their payload, and replayed to the queue they died in."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid

import aio_pika
import pytest

from services.cli import main
from shared.messages import AckPolicy, Broker, Envelope
from shared.messages.contracts import AccountCreated
from shared.messages.topology import REFRESH_QUEUE


@pytest.fixture
async def broker(infra, redis, monkeypatch):
    """A broker on an exchange and queue prefix of this test's own; the CLI is pointed at them."""
    suffix = uuid.uuid4().hex[:6]
    exchange, prefix = f"{infra.exchange}.{suffix}", f"{infra.queue_prefix}.{suffix}"
    for name, value in infra.env(POOLGATE_EVENTS_EXCHANGE=exchange, POOLGATE_QUEUE_PREFIX=prefix).items():
        monkeypatch.setenv(name, value)
    broker = Broker(
        amqp_url=infra.amqp_url,
        exchange=exchange,
        queue_prefix=prefix,
        producer="test",
        redis=redis,
        redis_prefix=infra.redis_prefix,
    )
    await broker.connect()
    yield broker
    await broker.close()
    connection = await aio_pika.connect(infra.amqp_url)
    async with connection:
        channel = await connection.channel()
        for tail in ("", ".retry", ".dead"):
            await channel.queue_delete(f"{prefix}.{REFRESH_QUEUE}{tail}")
        await channel.exchange_delete(exchange)


async def _dead_count(broker: Broker) -> int:
    channel = await broker.connection.channel()
    async with channel:
        queue = await channel.declare_queue(broker.queue(REFRESH_QUEUE).dead, passive=True)
        return queue.declaration_result.message_count


async def _until(condition, timeout_s: float = 10) -> None:
    async with asyncio.timeout(timeout_s):
        while not await condition():
            await asyncio.sleep(0.05)


async def _cli(capsys, *args: str) -> str:
    capsys.readouterr()
    # The CLI sets up logging with the stderr current at that moment: the real one, not this test's
    # capture, which is closed afterwards while consumers of later tests still log.
    with contextlib.redirect_stderr(sys.__stderr__):
        assert await asyncio.to_thread(main, ["events", "dead", *args]) == 0
    return capsys.readouterr().out


async def test_a_message_out_of_attempts_is_listed_without_its_payload_then_replayed_and_handled(
    broker, capsys
):
    failing, handled = True, []

    async def handler(envelope: Envelope) -> None:
        if failing:
            raise RuntimeError("token sk-live-do-not-print was refused")
        handled.append(envelope.id)

    await broker.consume(
        REFRESH_QUEUE, ["account.created"], handler, policy=AckPolicy(max_attempts=2, retry_delay_ms=100)
    )
    owner = f"owner-{uuid.uuid4().hex}"
    sent = await broker.publish(AccountCreated(account_id=uuid.uuid4().hex, kind="kiro", owner_id=owner))

    async def dead_lettered() -> bool:
        return await _dead_count(broker) == 1

    await _until(dead_lettered)

    listed = await _cli(capsys, "--queue", REFRESH_QUEUE)
    assert f"{broker.queue(REFRESH_QUEUE).dead}: 1 message(s)" in listed
    [line] = [line for line in listed.splitlines() if line.startswith("  ")]
    assert f"id={sent.id}" in line and "type=account.created" in line
    assert "reason=attempts_exhausted" in line and "count=2" in line and "error=RuntimeError" in line
    assert "first_dead_at=" in line and "producer=test" in line
    assert owner not in listed and sent.data["account_id"] not in listed, "no payload field is printed"
    assert "sk-live" not in listed, "no error message is printed"
    assert await _dead_count(broker) == 1, "listing leaves the messages where they are"

    failing = False
    replayed = await _cli(capsys, "--queue", REFRESH_QUEUE, "--replay")
    assert "replayed 1 of 1 message(s)" in replayed

    async def was_handled() -> bool:
        return handled == [sent.id]

    await _until(was_handled)
    assert await _dead_count(broker) == 0
    assert "0 message(s)" in await _cli(capsys, "--queue", REFRESH_QUEUE)


async def test_a_malformed_message_is_listed_with_the_reason_rabbitmq_gave(broker, capsys):
    async def handler(envelope: Envelope) -> None:
        raise AssertionError("never called for a malformed message")

    await broker.consume(REFRESH_QUEUE, ["account.created"], handler)
    exchange = await broker.connection.channel()
    async with exchange:
        events = await exchange.get_exchange(broker._exchange_name)
        await events.publish(aio_pika.Message(b"not json", message_id="m-1"), routing_key="account.created")

    async def dead_lettered() -> bool:
        return await _dead_count(broker) == 1

    await _until(dead_lettered)
    listed = await _cli(capsys)  # every consumer queue
    assert f"{broker.queue(REFRESH_QUEUE).dead}: 1 message(s)" in listed
    line = next(line for line in listed.splitlines() if "id=m-1" in line)
    assert "reason=rejected" in line and "count=1" in line and "type=account.created" in line
    assert "last_dead_at=" in line
