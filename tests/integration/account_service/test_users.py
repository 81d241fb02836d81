"""The user functions the console's admin pages call (a first password, a reset, admin rights), against
the real PostgreSQL. Each test runs in a transaction that is rolled back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import orjson
import pytest

from services.account_service.console import sessions
from services.account_service.users import passwords, service
from services.account_service.users.schemas import Actor
from shared.errors import Conflict, NotFound, Unprocessable

NOW = datetime(2030, 1, 1, tzinfo=UTC)
IDLE = timedelta(hours=12)
LOCKOUT = passwords.Lockout(max_failures=5, first_s=60)


@pytest.fixture
async def conn(pool) -> AsyncIterator[asyncpg.Connection]:
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            yield conn
        finally:
            await transaction.rollback()


def _actor(user) -> Actor:
    return Actor(user_id=user.id, username=user.username, is_admin=user.is_admin)


async def _outbox(conn) -> list[tuple[str, dict]]:
    rows = await conn.fetch("SELECT type, body FROM outbox ORDER BY id")
    return [(r["type"], orjson.loads(r["body"])) for r in rows]


async def test_a_user_created_with_a_password_can_sign_in_at_once(conn):
    user = await service.create_user(conn, username="with-password", password="a good password")
    assert user.has_password
    listed = {u.username: u for u in await service.list_users(conn)}
    assert listed["with-password"].has_password
    signed_in = await passwords.sign_in(
        conn, username="with-password", password="a good password", lockout=LOCKOUT, now=NOW
    )
    assert not isinstance(signed_in, passwords.Refused) and signed_in.id == user.id


async def test_a_user_created_without_one_has_none(conn):
    user = await service.create_user(conn, username="no-password")
    assert not user.has_password
    assert not (await service.get_user_by_id(conn, user_id=user.id)).has_password


async def test_a_refused_first_password_leaves_no_user_behind(conn):
    with pytest.raises(Unprocessable) as refused:
        await service.create_user(conn, username="short-password", password="short")
    assert refused.value.param == "password"
    assert await conn.fetchval("SELECT count(*) FROM users WHERE username = 'short-password'") == 0


async def test_a_taken_or_malformed_username_names_the_field_and_why(conn):
    await service.create_user(conn, username="taken")
    with pytest.raises(Conflict) as taken:
        async with conn.transaction():  # the refused insert aborts only this savepoint
            await service.create_user(conn, username="taken", password="a good password")
    assert (taken.value.param, taken.value.code) == ("username", "username_taken")
    with pytest.raises(Unprocessable) as malformed:
        async with conn.transaction():
            await service.create_user(conn, username="has space")
    assert (malformed.value.param, malformed.value.code) == ("username", "invalid_username")


async def test_a_reset_password_ends_the_users_sessions_but_the_one_kept(conn):
    user = await service.create_user(conn, username="forgetful", password="the first password")
    first = await sessions.start(conn, user_id=user.id, idle=IDLE, now=NOW)
    second = await sessions.start(conn, user_id=user.id, idle=IDLE, now=NOW)
    kept = (await sessions.load(conn, token=second, idle=IDLE, now=NOW)).token_hash

    await service.reset_password(conn, user_id=user.id, password="the second password", keep_session=kept)

    assert await sessions.load(conn, token=first, idle=IDLE, now=NOW) is None
    assert await sessions.load(conn, token=second, idle=IDLE, now=NOW) is not None
    assert await passwords.matches(conn, user_id=user.id, password="the second password")
    with pytest.raises(Unprocessable):
        await service.reset_password(conn, user_id=user.id, password="short")
    with pytest.raises(NotFound):
        await service.reset_password(conn, user_id=UUID(int=1), password="long enough pw")


async def test_admin_rights_are_given_and_taken_with_an_event_each(conn):
    admin = await service.create_user(conn, username="the-admin", is_admin=True)
    user = await service.create_user(conn, username="promoted")
    before = len(await _outbox(conn))

    promoted = await service.set_user_admin(conn, actor=_actor(admin), user_id=user.id, is_admin=True)
    assert promoted.is_admin
    demoted = await service.set_user_admin(conn, actor=_actor(admin), user_id=user.id, is_admin=False)
    assert not demoted.is_admin

    events = (await _outbox(conn))[before:]
    assert [t for t, _ in events] == ["user.changed", "user.changed"]
    assert all(payload["data"]["user_id"] == str(user.id) for _, payload in events)


async def test_an_admin_cannot_take_their_own_rights_away_but_may_confirm_them(conn):
    admin = await service.create_user(conn, username="self-demoter", is_admin=True)
    with pytest.raises(Conflict) as refused:
        await service.set_user_admin(conn, actor=_actor(admin), user_id=admin.id, is_admin=False)
    assert (refused.value.param, refused.value.code) == ("user_id", "cannot_demote_self")
    assert (await service.get_user_by_id(conn, user_id=admin.id)).is_admin
    kept = await service.set_user_admin(conn, actor=_actor(admin), user_id=admin.id, is_admin=True)
    assert kept.is_admin


async def test_admin_rights_of_an_unknown_user_are_not_found(conn):
    admin = await service.create_user(conn, username="lonely-admin", is_admin=True)
    with pytest.raises(NotFound):
        await service.set_user_admin(conn, actor=_actor(admin), user_id=UUID(int=7), is_admin=True)
