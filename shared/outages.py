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


def dependency_name(exc: BaseException) -> str:
    """Which dependency an unavailability error is about, for the message a caller reads."""
    module = type(exc).__module__.split(".")[0]
    return {"asyncpg": "PostgreSQL", "redis": "Redis", "aio_pika": "RabbitMQ", "aiormq": "RabbitMQ"}.get(
        module, "a service PoolGate depends on"
    )
