"""A consumer that gets SIGTERM while it handles a message finishes it and acks it before it exits:
account_service's usage consumer, held up by a lock on its inbox table mid-batch, is stopped; once
the lock is gone the batch commits, is acked, and nothing is left for redelivery (so the call is
counted once, by this replica, not again by the next)."""

from __future__ import annotations

import asyncio
import signal
import uuid

import aio_pika
import asyncpg
import pytest

from shared.messages import Broker
from shared.messages.contracts import UsageRecorded
from shared.messages.topology import USAGE_QUEUE
from tests.support.infra import Infra, create_database, teardown
from tests.support.processes import free_port, run_cli, spawn, wait_ready

pytestmark = pytest.mark.e2e


async def until(predicate, what: str) -> None:
    """Wait for a condition (the test's timeout ends a hang)."""
    print(f"waiting: {what}", flush=True)
    while not await predicate():
        await asyncio.sleep(0.05)


async def test_a_usage_message_in_hand_at_sigterm_is_committed_and_acked_before_exit(
    infra: Infra, tmp_path
) -> None:
    infra = infra.child("consumer_drain")
    await create_database(infra)
    port = free_port()
    proc = None
    try:
        env = infra.env(POOLGATE_ACCOUNT_SERVICE_PORT=str(port), POOLGATE_ACCOUNT_SERVICE_WORKERS="1")
        await asyncio.to_thread(run_cli, "migrate", env=env)
        proc = spawn("account_service_drain", ["-m", "services.account_service"], env=env, log_dir=tmp_path)
        await asyncio.to_thread(wait_ready, proc, f"http://127.0.0.1:{port}/readyz")

        db = await asyncpg.connect(infra.database_url)
        lock = db.transaction()
        await lock.start()
        await db.execute("LOCK TABLE consumed_messages IN ACCESS EXCLUSIVE MODE")
        broker = Broker(
            amqp_url=infra.amqp_url,
            exchange=infra.exchange,
            queue_prefix=infra.queue_prefix,
            producer="test",
        )
        await broker.connect()
        sent = await broker.publish(
            UsageRecorded(
                lease_id="lease-1",
                account_id=str(uuid.uuid4()),
                api_key_id=str(uuid.uuid4()),
                user_id=str(uuid.uuid4()),
                model="gpt-4o",
                outcome="success",
                status_code=200,
                latency_ms=12.0,
            )
        )
        await broker.close()
        watcher = await asyncpg.connect(infra.database_url)

        async def usage_queue() -> tuple[int, int]:
            """(messages ready for delivery, consumers) of account_service's usage queue."""
            connection = await aio_pika.connect(infra.amqp_url)
            async with connection:
                channel = await connection.channel()
                name = f"{infra.queue_prefix}.{USAGE_QUEUE}"
                declared = (await channel.declare_queue(name, durable=True, passive=True)).declaration_result
                return declared.message_count, declared.consumer_count

        async def consumer_blocked() -> bool:
            waiting = await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'"
                " AND query ILIKE '%INSERT INTO consumed_messages%'",
                infra.database,
            )
            return waiting > 0

        await until(consumer_blocked, "the usage batch is in hand, held up by the lock")
        proc.popen.send_signal(signal.SIGTERM)

        async def consumers_cancelled() -> bool:
            _, consumers = await usage_queue()
            return consumers == 0

        # The broker sends it nothing more, while the message stays in its hand (unacked, not requeued).
        await until(consumers_cancelled, "account_service stopped consuming")
        assert proc.popen.poll() is None, "it waits for the batch in hand"
        assert await usage_queue() == (0, 0)
        await lock.rollback()  # the batch goes on
        exit_code = await asyncio.to_thread(proc.popen.wait)
        assert exit_code in (0, -signal.SIGTERM), proc.logs()[-3000:]

        claimed = await watcher.fetchval(
            "SELECT count(*) FROM consumed_messages WHERE message_id = $1", sent.id
        )
        assert claimed == 1, "committed once"
        connection = await aio_pika.connect(infra.amqp_url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(
                f"{infra.queue_prefix}.{USAGE_QUEUE}", durable=True, passive=True
            )
            assert queue.declaration_result.message_count == 0, "acked: nothing to redeliver"
        await watcher.close()
        await db.close()
    finally:
        if proc is not None:
            proc.stop()
        await teardown(infra)
