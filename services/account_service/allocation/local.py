"""The pick, lease and cooldown rules of `picker.py`, kept in this process's memory.

Allocation falls back to it while Redis is unreachable (`fallback.py`): each account_service replica
then counts the leases it handed out itself and remembers the cooldowns it learnt of, so a cap of N
holds per replica rather than across them, and a success rate is not weighed in (every account
counts as healthy). Leases expire as they do in Redis, so one never outlives a crashed caller.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

from services.account_service.allocation.picker import Lease, Live, Pick
from services.account_service.keys.limits import Gate


class LocalPicker:
    def __init__(self, *, lease_ttl_s: float) -> None:
        self._ttl_s = lease_ttl_s
        self._inflight: dict[str, dict[str, float]] = {}  # account -> lease -> expiry (epoch s)
        self._cooling: dict[str, float] = {}  # account -> until (epoch s)

    async def pick(
        self,
        lease_id: str,
        candidates: Sequence[tuple[str, int, int]],
        *,
        release: Sequence[Lease] = (),
        gate: Gate | None = None,  # not enforced here: a key's limits hold across replicas or not at all
    ) -> Pick:
        self._release(release)
        now = time.time()
        ids: list[str] = []
        weights: list[float] = []
        earliest: float | None = None
        full = 0
        for account_id, weight, cap in candidates:
            cooling = self._cooling.get(account_id, 0.0)
            if cooling > now:
                earliest = cooling if earliest is None else min(earliest, cooling)
                continue
            busy = self._busy(account_id, now)
            if busy >= cap:
                full += 1
            elif weight > 0:
                ids.append(account_id)
                weights.append(weight * (cap - busy) / cap)
        if not ids:
            return Pick(None, None if earliest is None else int(earliest * 1000), full)
        chosen = random.choices(ids, weights)[0]
        self._inflight.setdefault(chosen, {})[lease_id] = now + self._ttl_s
        return Pick(chosen, None, full)

    async def settle(self, *, release: Sequence[Lease] = (), renew: Sequence[Lease] = ()) -> int:
        self._release(release)
        now = time.time()
        renewed = 0
        for account_id, lease_id in renew:
            leases = self._inflight.get(account_id)
            if leases and leases.get(lease_id, 0.0) > now:
                leases[lease_id] = now + self._ttl_s
                renewed += 1
        return renewed

    async def release(self, leases: Sequence[Lease]) -> None:
        self._release(leases)

    async def cool_down(self, account_id: str, seconds: float) -> None:
        until = time.time() + seconds
        if until > self._cooling.get(account_id, 0.0):  # a cooldown only ever grows, as in Redis
            self._cooling[account_id] = until

    async def end_cooldown(self, account_id: str) -> None:
        self._cooling.pop(account_id, None)

    async def live(self, account_ids: Sequence[str]) -> dict[str, Live]:
        now = time.time()
        found = {}
        for account_id in account_ids:
            cooling = self._cooling.get(account_id, 0.0)
            until = int(cooling * 1000) if cooling > now else None
            found[account_id] = Live(self._busy(account_id, now), until)
        return found

    def _release(self, leases: Sequence[Lease]) -> None:
        for account_id, lease_id in leases:
            held = self._inflight.get(account_id)
            if held is not None:
                held.pop(lease_id, None)

    def _busy(self, account_id: str, now: float) -> int:
        held = self._inflight.get(account_id)
        if not held:
            return 0
        for lease_id in [lease for lease, expiry in held.items() if expiry <= now]:
            del held[lease_id]
        return len(held)
