"""Account storage functions other areas build on (the sweeper, outcomes, secret rotation), against the
real PostgreSQL. Each test runs in a transaction that is rolled back, so the shared database stays clean."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.account_service.accounts import repository
from services.account_service.accounts.rotation import rotate_batch
from services.account_service.accounts.schemas import DreaminaCreate, KiroCreate
from services.account_service.accounts.service import change_status, create_account, decrypt_secrets
from services.account_service.users.service import create_user
from shared.crypto import SecretBox, generate_key

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
async def conn(pool) -> AsyncIterator[asyncpg.Connection]:
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(generate_key())


async def _outbox_types(conn) -> list[str]:
    return [r["type"] for r in await conn.fetch("SELECT type FROM outbox ORDER BY id")]


async def test_due_for_refresh_takes_kiro_always_and_dreamina_only_when_it_can_log_in(conn, box):
    owner = await create_user(conn, username="sweepee")
    soon = NOW + timedelta(minutes=5)

    async def add(spec, expires_at):
        account = await create_account(conn, box, owner=owner, spec=spec)
        await conn.execute(
            "UPDATE accounts SET credential_expires_at = $2 WHERE id = $1", account.id, expires_at
        )
        return account.id

    kiro_soon = await add(KiroCreate(refresh_token="aorSOON"), soon)
    await add(KiroCreate(refresh_token="aorLATER"), NOW + timedelta(days=1))
    login_soon = await add(DreaminaCreate(email="a@x.co", password="pw", region="us", sessionid="s1"), soon)
    await add(DreaminaCreate(email="b@x.co", password="", region="us", sessionid="s2"), soon)
    await add(DreaminaCreate(email="c@x.co", password="pw", region="cn", sessionid="s3"), soon)
    disabled = await add(KiroCreate(refresh_token="aorOFF"), soon)
    await repository.set_status(conn, account_id=disabled, status="disabled", reason="test")

    due = await repository.due_for_refresh(
        conn, kiro_before=NOW + timedelta(minutes=10), dreamina_before=NOW + timedelta(hours=24)
    )
    assert {a.id for a in due if a.owner_id == owner.id} == {kiro_soon, login_soon}


async def test_change_status_records_reason_time_and_event_and_exhausted_comes_back(conn, box):
    owner = await create_user(conn, username="exhaustee")
    account = await create_account(
        conn, box, owner=owner, spec=DreaminaCreate(email="e@x.co", region="hk", sessionid="sid")
    )
    exhausted = await change_status(
        conn, account=account, status="exhausted", reason="credits gone", until=NOW + timedelta(hours=1)
    )
    assert (exhausted.status, exhausted.status_reason, exhausted.status_until) == (
        "exhausted",
        "credits gone",
        NOW + timedelta(hours=1),
    )
    assert exhausted.status_changed_at >= account.status_changed_at
    assert (
        await change_status(
            conn, account=exhausted, status="exhausted", reason="credits gone", until=NOW + timedelta(hours=1)
        )
        == exhausted
    ), "no change, no event"
    assert (await _outbox_types(conn))[-2:] == ["account.created", "account.status_changed"]
    assert account.id not in {a.id for a in await repository.reactivate_exhausted(conn, now=NOW)}
    [back] = [
        a
        for a in await repository.reactivate_exhausted(conn, now=NOW + timedelta(hours=2))
        if a.id == account.id
    ]
    assert (back.id, back.status, back.status_until) == (account.id, "active", None)


async def test_rotation_never_overwrites_a_concurrent_change(conn, box):
    owner = await create_user(conn, username="rotatee")
    account = await create_account(conn, box, owner=owner, spec=KiroCreate(refresh_token="aorROT"))
    stale = await repository.secrets_after(conn, after=None, limit=1000)
    newer = box.encrypt('{"refresh_token": "aorNEWER"}')
    await conn.execute("UPDATE accounts SET secrets = $2 WHERE id = $1", account.id, newer)
    changed = await repository.replace_secrets(
        conn,
        account_ids=[s.account_id for s in stale],
        old=[s.token for s in stale],
        new=["replaced"] * len(stale),
    )
    assert changed == len(stale) - 1
    assert decrypt_secrets(box, await repository.get(conn, account_id=account.id)) == {
        "refresh_token": "aorNEWER"
    }


async def test_rotate_batch_walks_the_table_in_id_order(conn, box):
    owner = await create_user(conn, username="walker")
    for n in range(3):
        await create_account(conn, box, owner=owner, spec=KiroCreate(refresh_token=f"aorWALK{n}"))
    mine = {a.id for a in await repository.list_of_kind(conn, kind="kiro", owner_id=owner.id)}
    # Other tests' rows in the shared database are encrypted with other keys: rotate only ours here.
    seen, after = set(), None
    while True:
        batch = await repository.secrets_after(conn, after=after, limit=2)
        if not batch:
            break
        seen |= {s.account_id for s in batch}
        after = batch[-1].account_id
    assert mine <= seen
    assert await rotate_batch(conn, box, after=max(seen), limit=10) == (0, None)
