"""Two dispatchers (two replicas) working through the same due deliveries never send one twice: rows
are claimed with FOR UPDATE SKIP LOCKED, each claim moving the row past the attempt."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from services.account_service.users.service import create_user
from services.account_service.webhooks import repository
from services.account_service.webhooks.dispatcher import Dispatcher, DispatchSettings
from shared.crypto import SecretBox, generate_key
from tests.support.processes import spawn_listening


@pytest.fixture(scope="module")
def receiver_url(tmp_path_factory) -> Iterator[str]:
    proc, port = spawn_listening(
        "webhook-receiver", "tests.fakes.webhook_receiver", log_dir=tmp_path_factory.mktemp("receiver")
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


async def test_two_replicas_deliver_each_delivery_once(pool: asyncpg.Pool, receiver_url: str):
    box = SecretBox(generate_key())
    path = f"replicas-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn, conn.transaction():
        user = await create_user(conn, username=f"u-{uuid.uuid4().hex[:8]}")
        hook = await repository.create(
            conn,
            user_id=user.id,
            operator_wide=False,
            url=f"{receiver_url}/{path}",
            secret=box.encrypt("whsec_test"),
            alert_types=["pool.unavailable"],
            enabled=True,
        )
        for n in range(40):
            await repository.add_deliveries(
                conn, webhook_ids=[hook.id], event_id=f"e{n}", alert_type="pool.unavailable", bodies=["{}"]
            )
    settings = DispatchSettings(batch=7, allow_private=True)
    replicas = [Dispatcher(pool=pool, box=box, settings=settings) for _ in range(2)]

    async def drain(dispatcher: Dispatcher) -> None:
        while await dispatcher.deliver_due():
            pass

    for each in replicas:
        await each.start()  # their own loops run too: three ways to claim the same rows
    try:
        await asyncio.gather(*(drain(each) for each in replicas))
        # What a loop claimed last may still be on its way: wait for it, not for a time.
        while await pool.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1 AND status = 'pending'", hook.id
        ):
            await asyncio.sleep(0.05)
    finally:
        for each in replicas:
            await each.stop()

    async with httpx.AsyncClient(base_url=receiver_url) as client:
        got = [r for r in (await client.get("/_fake/requests")).json() if r["path"] == f"/{path}"]
    assert len(got) == 40
    assert len({r["delivery"] for r in got}) == 40
    log = await repository.deliveries(pool, webhook_id=hook.id, limit=100)
    assert {(d.status, d.attempts) for d in log} == {("delivered", 1)}


async def test_finished_deliveries_leave_the_log_after_its_days(pool: asyncpg.Pool):
    box = SecretBox(generate_key())
    async with pool.acquire() as conn, conn.transaction():
        user = await create_user(conn, username=f"u-{uuid.uuid4().hex[:8]}")
        hook = await repository.create(
            conn,
            user_id=user.id,
            operator_wide=False,
            url="http://127.0.0.1:9/x",
            secret=box.encrypt("whsec_test"),
            alert_types=["pool.unavailable"],
            enabled=True,
        )
        ids = {}
        for name in ("old-delivered", "old-pending", "new-delivered"):
            (ids[name],) = await repository.add_deliveries(
                conn, webhook_ids=[hook.id], event_id=name, alert_type="pool.unavailable", bodies=["{}"]
            )
        await conn.execute(
            "UPDATE webhook_deliveries SET status = 'delivered' WHERE id = ANY($1::uuid[])",
            [ids["old-delivered"], ids["new-delivered"]],
        )
        await conn.execute(
            "UPDATE webhook_deliveries SET created_at = now() - interval '31 days'"
            " WHERE id = ANY($1::uuid[])",
            [ids["old-delivered"], ids["old-pending"]],
        )
    dispatcher = Dispatcher(pool=pool, box=box, settings=DispatchSettings(log_days=30, poll_s=3600))
    await dispatcher.start()  # prunes as its loop begins
    try:
        while await repository.get_delivery(pool, delivery_id=ids["old-delivered"]) is not None:
            await asyncio.sleep(0.05)
    finally:
        await dispatcher.stop()
    left = {d.id for d in await repository.deliveries(pool, webhook_id=hook.id, limit=10)}
    assert left == {ids["old-pending"], ids["new-delivered"]}


async def test_an_internal_address_is_refused_when_connecting_unless_allowed(
    pool: asyncpg.Pool, receiver_url: str
):
    """A URL saved while private addresses were allowed (or a name resolving inward later) is
    checked again at the address connected to."""
    box = SecretBox(generate_key())
    path = f"guarded-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn, conn.transaction():
        user = await create_user(conn, username=f"u-{uuid.uuid4().hex[:8]}")
        hook = await repository.create(
            conn,
            user_id=user.id,
            operator_wide=False,
            url=f"{receiver_url}/{path}",
            secret=box.encrypt("whsec_test"),
            alert_types=["pool.unavailable"],
            enabled=True,
        )
        (delivery_id,) = await repository.add_deliveries(
            conn, webhook_ids=[hook.id], event_id="e", alert_type="pool.unavailable", bodies=["{}"]
        )
    dispatcher = Dispatcher(pool=pool, box=box, settings=DispatchSettings(max_attempts=1, poll_s=3600))
    await dispatcher.start()
    try:
        while (await repository.get_delivery(pool, delivery_id=delivery_id)).status == "pending":
            await asyncio.sleep(0.05)
    finally:
        await dispatcher.stop()
    delivery = await repository.get_delivery(pool, delivery_id=delivery_id)
    assert delivery.status == "failed" and "not globally routable" in delivery.last_error
    async with httpx.AsyncClient(base_url=receiver_url) as client:
        got = [r for r in (await client.get("/_fake/requests")).json() if r["path"] == f"/{path}"]
    assert got == []
