"""The outbox keeps an accepted change's event through a RabbitMQ connection loss."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit

import aio_pika
import orjson

from services.account_service.accounts.service import add_custom, parse_custom
from services.account_service.outbox import repository as outbox
from services.account_service.outbox.relay import OutboxRelay
from services.account_service.users.service import create_user
from shared.crypto import SecretBox, generate_key
from shared.messages import Broker
from tests.support.tcp_proxy import CuttableProxy


async def test_event_written_while_rabbitmq_is_unreachable_is_delivered_after_reconnect(pool, migrated):
    amqp = urlsplit(migrated.amqp_url)
    cuttable = CuttableProxy(amqp.hostname, amqp.port or 5672)
    await cuttable.start()
    via_proxy = migrated.amqp_url.replace(
        f"{amqp.hostname}:{amqp.port or 5672}", f"127.0.0.1:{cuttable.port}"
    )
    broker = Broker(
        amqp_url=via_proxy,
        exchange=migrated.exchange,
        queue_prefix=migrated.queue_prefix,
        producer="test-relay",
    )
    await broker.connect()
    relay = OutboxRelay(pool=pool, broker=broker, dsn=migrated.database_url, poll_s=0.5)

    # A direct connection, not through the cuttable proxy, watches what reaches the exchange.
    watcher = await aio_pika.connect(migrated.amqp_url)
    channel = await watcher.channel()
    exchange = await channel.declare_exchange(migrated.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key="account.created")

    await relay.start()
    try:
        await cuttable.cut()
        username = f"outbox-{uuid.uuid4().hex[:6]}"
        async with pool.acquire() as conn, conn.transaction():
            await create_user(conn, username=username)
            account = await add_custom(
                conn,
                SecretBox(generate_key()),
                username=username,
                spec=parse_custom({"api_base": "https://8.8.8.8/v1", "api_key": "sk-x", "format": "openai"}),
            )

        await asyncio.sleep(2)
        assert await queue.get(fail=False) is None, "nothing can reach RabbitMQ while the link is cut"
        async with pool.acquire() as conn:
            assert await outbox.pending_count(conn) >= 1, "the event waits in the outbox"

        await cuttable.restore()
        async with asyncio.timeout(30):
            while True:
                message = await queue.get(fail=False)
                if message is not None:
                    await message.ack()
                    envelope = orjson.loads(message.body)
                    if envelope["data"]["account_id"] == str(account.id):
                        break
                await asyncio.sleep(0.1)
        assert envelope["type"] == "account.created"
        assert envelope["producer"] == "account_service"
        assert "sk-x" not in message.body.decode(), "events never carry secrets"
        async with asyncio.timeout(10):
            while True:
                async with pool.acquire() as conn:
                    if await outbox.pending_count(conn) == 0:
                        break
                await asyncio.sleep(0.1)
    finally:
        await relay.stop()
        await broker.close()
        await watcher.close()
        await cuttable.close()
