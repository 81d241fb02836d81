"""Which failures mean a dependency is away, and which dependency."""

from __future__ import annotations

import asyncpg
import pytest
import redis.exceptions

from shared.errors import DependencyUnavailable, InvalidRequest
from shared.outages import dependency_name, is_unavailable


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(),
        TimeoutError(),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.TooManyConnectionsError("too many"),
        redis.exceptions.ConnectionError("refused"),
        DependencyUnavailable("account_service unreachable"),
    ],
)
def test_an_unreachable_dependency_is_unavailability(exc: Exception) -> None:
    assert is_unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [ValueError("bad"), KeyError("x"), InvalidRequest("no"), asyncpg.exceptions.UniqueViolationError("dup")],
)
def test_a_bad_message_or_a_bug_is_not(exc: Exception) -> None:
    assert not is_unavailable(exc)


async def test_a_refused_connection_is_named_after_the_client_that_made_it() -> None:
    with pytest.raises(OSError) as refused:
        await asyncpg.connect("postgresql://postgres@127.0.0.1:9/x", timeout=5)
    assert dependency_name(refused.value) == "PostgreSQL"
    assert dependency_name(redis.exceptions.ConnectionError()) == "Redis"
    assert dependency_name(TimeoutError()) == "a service PoolGate depends on"
