"""Allocation that survives Redis going away: shared state while Redis answers, this process's own
memory while it does not.

The first Redis failure switches the replica to `LocalPicker` (a warning line and the
`poolgate_allocation_degraded` gauge say so); from then on no call waits for Redis. A background probe
pings it every second and switches back to the shared state as soon as it answers. Cooldowns are
always remembered locally too, so the ones learnt before an outage still hold during it; releases go
to both sides, so a lease taken in one mode is freed after the switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence

from services.account_service.allocation.local import LocalPicker
from services.account_service.allocation.picker import Lease, Live, Pick, Picker
from services.account_service.keys.limits import Gate
from services.account_service.metrics import DEGRADED
from shared.logging import get_logger
from shared.outages import is_unavailable

log = get_logger(__name__)


class FallbackPicker:
    def __init__(
        self,
        shared: Picker,
        local: LocalPicker,
        *,
        ping: Callable[[], Awaitable[object]],
        probe_interval_s: float = 1.0,
    ) -> None:
        self._shared = shared
        self._local = local
        self._ping = ping
        self._probe_interval_s = probe_interval_s
        self._degraded_since: float | None = None
        self._probe: asyncio.Task | None = None

    @property
    def degraded(self) -> bool:
        return self._degraded_since is not None

    async def pick(
        self,
        lease_id: str,
        candidates: Sequence[tuple[str, int, int]],
        *,
        release: Sequence[Lease] = (),
        gate: Gate | None = None,
    ) -> Pick:
        """The key's limits are shared state: while Redis is away they are not enforced (failing
        open, as the rest of degraded allocation does), rather than refusing every call."""
        if not self.degraded:
            try:
                pick = await self._shared.pick(lease_id, candidates, release=release, gate=gate)
            except Exception as exc:
                self._degrade(exc)
            else:
                await self._local.release(release)
                return pick
        return await self._local.pick(lease_id, candidates, release=release)

    async def settle(self, *, release: Sequence[Lease] = (), renew: Sequence[Lease] = ()) -> int:
        renewed = await self._local.settle(release=release, renew=renew)
        if not self.degraded:
            try:
                renewed += await self._shared.settle(release=release, renew=renew)
            except Exception as exc:
                self._degrade(exc)
        return renewed

    async def cool_down(self, account_id: str, seconds: float) -> None:
        await self._local.cool_down(account_id, seconds)
        if not self.degraded:
            try:
                await self._shared.cool_down(account_id, seconds)
            except Exception as exc:
                self._degrade(exc)

    async def end_cooldown(self, account_id: str) -> None:
        await self._local.end_cooldown(account_id)
        if not self.degraded:
            try:
                await self._shared.end_cooldown(account_id)
            except Exception as exc:
                self._degrade(exc)

    async def live(self, account_ids: Sequence[str]) -> dict[str, Live]:
        """The shared state while Redis answers, else what this replica knows (`degraded` says which)."""
        if not self.degraded:
            try:
                return await self._shared.live(account_ids)
            except Exception as exc:
                self._degrade(exc)
        return await self._local.live(account_ids)

    def _degrade(self, exc: Exception) -> None:
        if not is_unavailable(exc):
            raise exc
        self._degraded_since = time.monotonic()
        DEGRADED.set(1)
        log.warning(
            "allocation.degraded",
            reason=f"Redis unreachable ({exc.__class__.__name__})",
            using="this replica's own lease counts and cooldowns",
        )
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._wait_for_redis(), name="allocation-redis-probe")

    async def _wait_for_redis(self) -> None:
        while True:
            await asyncio.sleep(self._probe_interval_s)
            try:
                await self._ping()
            except Exception as exc:
                if not is_unavailable(exc):
                    log.exception("allocation.redis_probe_failed")
                continue
            away_s = time.monotonic() - (self._degraded_since or time.monotonic())
            self._degraded_since = None
            DEGRADED.set(0)
            log.info("allocation.shared_state_restored", degraded_for_s=round(away_s, 1))
            return

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
