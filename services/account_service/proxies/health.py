"""A proxy's health as tests and calls find it, and `egress_proxy.unhealthy` when it turns bad.

The alert is written to the outbox in the transaction that records the failure, and only when the
proxy was healthy or never checked before it (repository.record_health sees the turn in the same
statement): a proxy that keeps failing is announced once, again only after it worked in between.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.account_service.outbox.writer import record
from services.account_service.proxies import repository
from services.account_service.proxies.schemas import Proxy
from shared.messages.contracts import EgressProxyUnhealthy


async def record_health(
    conn: asyncpg.Connection,
    *,
    proxy_id: UUID,
    healthy: bool,
    error: str | None,
    latency_ms: float | None = None,
    exit_ip: str | None = None,
    exit_country: str | None = None,
) -> bool:
    """Store what was found; True if the proxy turned unhealthy (and that was announced)."""
    turned = await repository.record_health(
        conn,
        proxy_id=proxy_id,
        healthy=healthy,
        error=error,
        latency_ms=latency_ms,
        exit_ip=exit_ip,
        exit_country=exit_country,
    )
    if turned:
        stored = await repository.get(conn, proxy_id=proxy_id)
        if stored is not None:
            shown = Proxy.of(stored)  # the URL as shown: password as `****`
            await record(
                conn,
                EgressProxyUnhealthy(
                    proxy_id=str(shown.id),
                    user_id=str(shown.user_id),
                    name=shown.name,
                    url=shown.url,
                    error=error,
                    accounts=shown.accounts,
                ),
            )
    return turned
