"""Which failures mean "a dependency is unreachable right now" rather than "this work is bad".

A consumer that fails for the first reason waits and tries the same messages again for as long as it
takes (`shared/messages/broker.py`); only the second kind uses up attempts and may be dead-lettered.
"""

from __future__ import annotations

import aio_pika.exceptions
import aiohttp
import asyncpg
import httpx
import redis.exceptions

from shared.errors import DependencyUnavailable

UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable, DNS; ConnectionError is one
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # "connection is closed", a pool closing under a query
    asyncpg.exceptions.OperatorInterventionError,  # the server shutting down or still starting
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    aiohttp.ClientConnectionError,
    httpx.TransportError,
    aio_pika.exceptions.AMQPConnectionError,
    DependencyUnavailable,  # a peer said so (account_service with its database down)
)


def is_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, UNAVAILABLE)


_CLIENTS = {"asyncpg": "PostgreSQL", "redis": "Redis", "aio_pika": "RabbitMQ", "aiormq": "RabbitMQ"}


def dependency_name(exc: BaseException) -> str:
    """Which dependency an unavailability error is about, for the message a caller reads: the
    client library it came from (a refused connection is a plain OSError raised inside asyncpg)."""
    names = [_CLIENTS.get(type(exc).__module__.split(".")[0])]
    tb = exc.__traceback__
    while tb is not None:
        names.append(_CLIENTS.get(tb.tb_frame.f_globals.get("__name__", "").split(".")[0]))
        tb = tb.tb_next
    return next((name for name in reversed(names) if name), "a service PoolGate depends on")
