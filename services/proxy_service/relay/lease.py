"""The proxy's leases: held while an attempt runs, renewed while it lasts, released when it ends.

An allocation reserves a slot on its account under a lease with a short TTL (account_service's
`lease_ttl_s`, about a minute), so a proxy that crashes frees its slots within that time. While
an attempt runs, its lease is renewed every `renew_every_s`; when it ends (on any path) the lease is
released directly through account_service's internal API, never by way of RabbitMQ.

Releasing costs no extra round trip on the request path: a released lease waits until the next
allocation this proxy asks for carries it, released before the pick (so a client calling back to
back on an account with one slot always finds its own slot free). Each release travels with one
allocation only: under 32 concurrent calls, carrying every waiting release on every allocation
made each one pack about 30 pairs for nothing (bench.profile). A release whose allocation failed
waits again. A background task sends what no allocation took within `linger_s` of its release
(traffic stopped or slowed), batching whatever piled up meanwhile.

A release can be on its way in one allocation while another, sent at the same moment, is refused
for want of that very slot (an account at its cap, calls back to back: account_service answers them
in any order). So a refused allocation asks `landed()` whether a release of this proxy was waiting
or on its way; if one was, it is tried once more after those have landed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random

from services.proxy_service.metrics import LEASES_HELD
from shared.internal_client import InternalClient
from shared.logging import get_logger
from shared.metrics import sampled

log = get_logger(__name__)

Lease = tuple[str, str]  # (account_id, lease_id)

_MAX_CARRIED = 256  # waiting releases an allocation carries at most; the flusher sends the rest
_RETRY_MAX_S = 5.0


class Leases:
    def __init__(
        self, internal: InternalClient, *, renew_every_s: float = 20.0, linger_s: float = 0.005
    ) -> None:
        self._internal = internal
        self._renew_every_s = renew_every_s
        self._linger_s = linger_s
        self._held: dict[str, str] = {}  # lease_id -> account_id
        # Released here, not yet taken to account_service: lease_id -> (account_id, released at).
        self._waiting: dict[str, tuple[str, float]] = {}
        self._in_transit = 0  # releases taken by an allocation or a flush that has not ended yet
        self._all_landed = asyncio.Event()
        self._all_landed.set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        sampled(LEASES_HELD, lambda: len(self._held))

    @property
    def held(self) -> int:
        return len(self._held)

    def hold(self, account_id: str, lease_id: str) -> None:
        self._held[lease_id] = account_id

    def release(self, account_id: str, lease_id: str) -> None:
        """The attempt ended: free its slot."""
        self._held.pop(lease_id, None)
        self._waiting[lease_id] = (account_id, asyncio.get_running_loop().time())
        self._wake.set()

    def carry(self) -> list[Lease]:
        """Take the waiting releases for an allocation to carry; give them to `carried` after it."""
        return self._take(limit=_MAX_CARRIED) if self._waiting else []

    def _take(self, *, limit: int | None = None, released_before: float | None = None) -> list[Lease]:
        """Remove and return up to `limit` waiting releases (those released by `released_before`)."""
        due = (
            (account_id, lease_id)
            for lease_id, (account_id, at) in self._waiting.items()
            if released_before is None or at <= released_before
        )
        taken = list(itertools.islice(due, limit))
        for _, lease_id in taken:
            del self._waiting[lease_id]
        if taken:
            self._in_transit += len(taken)
            self._all_landed.clear()
        return taken

    def carried(self, pairs: list[Lease], *, applied: bool) -> None:
        """The allocation (or flush) that carried `pairs` ended: if it did not reach account_service,
        they wait again, for the next allocation or the flusher."""
        if not pairs:
            return
        self._in_transit -= len(pairs)
        if not self._in_transit:
            self._all_landed.set()
        if applied:
            return
        for account_id, lease_id in pairs:
            self._waiting[lease_id] = (account_id, 0.0)  # released long enough ago: flush at once
        self._wake.set()

    async def landed(self, *, timeout_s: float = 1.0) -> bool:
        """Whether a release was waiting or on its way (then wait, a bounded time, until those on
        their way have reached account_service or come back to wait): a refused allocation is
        worth one more try then."""
        if not self._waiting and not self._in_transit:
            return False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._all_landed.wait()
        return True

    @property
    def waiting(self) -> list[Lease]:
        """Released here and not yet taken by an allocation or the flusher."""
        return [(account_id, lease_id) for lease_id, (account_id, _) in self._waiting.items()]

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._flush_forever(), name="lease-release"),
            asyncio.create_task(self._renew_forever(), name="lease-renew"),
        ]

    async def close(self) -> None:
        """Stop renewing and send the last releases (best effort: the TTL frees what is left)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):  # best effort: the TTL frees what is left
            await self._flush()

    async def _flush(self, *, released_before: float | None = None) -> None:
        pairs = self._take(released_before=released_before)
        if not pairs:
            return
        applied = False
        try:
            await self._internal.settle_leases(release=pairs)
            applied = True
        finally:
            self.carried(pairs, applied=applied)

    async def _flush_forever(self) -> None:
        delay = 0.05
        while True:
            await self._wake.wait()
            self._wake.clear()
            # Under traffic the next allocation carries these releases: send only what none carried
            # within `linger_s` of its release.
            await asyncio.sleep(self._linger_s)
            try:
                await self._flush(released_before=asyncio.get_running_loop().time() - self._linger_s)
                delay = 0.05
                if self._waiting:  # released during the wait: their turn comes
                    self._wake.set()
            except Exception as exc:  # account_service away (or odd): keep them, try again soon
                log.warning(
                    "proxy.lease_release_failed", error=exc.__class__.__name__, pending=len(self._waiting)
                )
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, _RETRY_MAX_S)
                self._wake.set()

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._renew_every_s)
            running = [(a, lease) for lease, a in self._held.items()]
            if not running:
                continue
            try:
                renewed = await self._internal.settle_leases(renew=running)
            except Exception as exc:  # the next round tries again; the TTL leaves room for two misses
                log.warning("proxy.lease_renew_failed", error=exc.__class__.__name__, leases=len(running))
                continue
            if renewed < len(running):
                # Expired before renewal (account_service away longer than the TTL): those slots
                # were already given back; the attempts run on, uncounted against the cap.
                log.info("proxy.leases_expired", leases=len(running) - renewed)
