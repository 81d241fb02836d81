"""Sends due webhook deliveries: a signed JSON POST each, retried with exponential backoff.

Every replica runs one. Due rows are claimed with `FOR UPDATE SKIP LOCKED` (webhooks/repository.py),
which also moves them past the attempt's timeout, so two replicas never send the same attempt and a
replica that died mid-attempt leaves the row due again. A 2xx answer delivers; anything else (another
status, a timeout, a refused connection) is tried again after `backoff_base_s * 2^(attempt-1)`
(capped) until `max_attempts`, then the delivery is `failed`. Finished deliveries stay in the log for
`log_days`. Woken when this replica adds deliveries, and by a poll for those other replicas added
and for retries coming due.

The connection is checked against the SSRF rule (shared/netguard.py) at the address actually
connected to, unless the operator allows private upstreams. Signing secrets are decrypted only to
sign and are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import time
from dataclasses import dataclass

import aiohttp
import asyncpg
from aiohttp import AddrInfoType
from prometheus_client import Counter

from services.account_service.webhooks import repository, signing
from services.account_service.webhooks.schemas import DueDelivery
from shared.crypto import InvalidToken, SecretBox
from shared.logging import get_logger
from shared.netguard import is_internal
from shared.outages import is_unavailable

log = get_logger(__name__)
ATTEMPTS = Counter("poolgate_webhook_attempts_total", "Webhook delivery attempts", ["result"])
_ERROR_MAX = 500
_PRUNE_EVERY_S = 3600.0


@dataclass(frozen=True)
class DispatchSettings:
    timeout_s: float = 10.0
    max_attempts: int = 8
    backoff_base_s: float = 30.0
    backoff_max_s: float = 3600.0
    poll_s: float = 5.0
    batch: int = 20
    allow_private: bool = False
    log_days: float = 30.0  # finished deliveries older than this leave the log

    def retry_in(self, attempt: int) -> float:
        return min(self.backoff_base_s * 2 ** (attempt - 1), self.backoff_max_s)


def _guarded_socket(addr_info: AddrInfoType) -> socket.socket:
    family, type_, proto, _, sockaddr = addr_info
    if is_internal(sockaddr[0]):
        raise OSError(errno.EACCES, "the webhook address is not globally routable")
    return socket.socket(family=family, type=type_, proto=proto)


class Dispatcher:
    def __init__(self, *, pool: asyncpg.Pool, box: SecretBox, settings: DispatchSettings) -> None:
        self._pool = pool
        self._box = box
        self._settings = settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._http: aiohttp.ClientSession | None = None
        self._pruned_at: float | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self._settings.batch,
            socket_factory=None if self._settings.allow_private else _guarded_socket,
        )
        self._http = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._settings.timeout_s),
            headers={"User-Agent": "PoolGate-Webhooks/1"},
        )
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._http is not None:
            await self._http.close()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await self._prune()
                sent = await self.deliver_due()
            except Exception as exc:
                level = log.warning if is_unavailable(exc) else log.error
                level("webhook.dispatch_failed", error=repr(exc))
                sent = 0
            if sent:
                continue  # there may be more due
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.poll_s)

    async def _prune(self) -> None:
        if self._pruned_at is not None and time.monotonic() - self._pruned_at < _PRUNE_EVERY_S:
            return
        self._pruned_at = time.monotonic()
        forgotten = await repository.prune(self._pool, older_than_days=self._settings.log_days)
        if forgotten:
            log.info("webhook.log_pruned", deliveries=forgotten)

    async def deliver_due(self) -> int:
        """One round: claim what is due and attempt it; how many were attempted."""
        lease_s = self._settings.timeout_s + 30
        async with self._pool.acquire() as conn:
            due = await repository.claim_due(conn, limit=self._settings.batch, lease_s=lease_s)
        await asyncio.gather(*(self._attempt(d) for d in due))
        return len(due)

    async def _attempt(self, delivery: DueDelivery) -> None:
        status_code, error = await self._post(delivery)
        ok = status_code is not None and 200 <= status_code < 300
        if ok:
            status, retry_in = "delivered", None
        elif delivery.attempts >= self._settings.max_attempts:
            status, retry_in = "failed", None
        else:
            status, retry_in = "pending", self._settings.retry_in(delivery.attempts)
        ATTEMPTS.labels(status).inc()
        async with self._pool.acquire() as conn:
            await repository.finish_attempt(
                conn,
                delivery_id=delivery.id,
                attempt=delivery.attempts,
                status=status,
                status_code=status_code,
                error=error,
                retry_in_s=retry_in,
            )
        fields = {
            "delivery_id": str(delivery.id),
            "webhook_id": str(delivery.webhook_id),
            "alert": delivery.alert_type,
            "attempt": delivery.attempts,
            "status_code": status_code,
            "error": error,
        }
        if status == "failed":
            log.error("webhook.delivery_failed", **fields)
        elif status == "pending":
            log.warning("webhook.delivery_retrying", retry_in_s=retry_in, **fields)
        else:
            log.info("webhook.delivered", **fields)

    async def _post(self, delivery: DueDelivery) -> tuple[int | None, str | None]:
        """(the receiver's status code, or None; what went wrong, or None)."""
        try:
            secret = self._box.decrypt(delivery.secret)
        except InvalidToken:
            return None, "the webhook's secret cannot be decrypted with the configured keys"
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            signing.SIGNATURE_HEADER: signing.signature(secret, body, int(time.time())),
            signing.EVENT_HEADER: delivery.alert_type,
            signing.DELIVERY_HEADER: str(delivery.id),
        }
        try:
            async with self._http.post(delivery.url, data=body, headers=headers, allow_redirects=False) as r:
                await r.read()
                error = None if 200 <= r.status < 300 else f"HTTP {r.status}"
                return r.status, error
        except TimeoutError:
            return None, f"no answer within {self._settings.timeout_s:g}s"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return None, f"{exc.__class__.__name__}: {exc}"[:_ERROR_MAX]
