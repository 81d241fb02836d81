"""At most `limit` browsers at once across every worker replica: a Redis semaphore.

The slots are a sorted set of holder tokens scored by when each hold expires, by Redis's own clock
(replicas' clocks may differ). Taking a slot first drops expired holds, so a worker that crashed
holding one frees it within `hold_s`; a holder releases its slot the moment its browser closed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from services.refresh_worker.dreamina.failures import NoBrowserSlot

# KEYS[1] the slots; ARGV: limit, hold (ms), token. 1 when the slot was taken, else 0.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
    redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
    return 1
end
return 0
"""


class BrowserSlots:
    def __init__(
        self, redis: Redis, key: str, *, limit: int, hold_s: float, wait_s: float, poll_s: float = 0.25
    ) -> None:
        self._redis = redis
        self._key = key
        self._limit = limit
        self._hold_ms = int(hold_s * 1000)
        self._wait_s = wait_s
        self._poll_s = poll_s
        self._take = redis.register_script(_TAKE)

    async def held(self) -> int:
        """How many slots are held now (expired holds included until the next take drops them)."""
        return await self._redis.zcard(self._key)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self._wait_s
        while not await self._take(keys=[self._key], args=[self._limit, self._hold_ms, token]):
            if time.monotonic() >= deadline:
                raise NoBrowserSlot(
                    f"no browser slot came free within {self._wait_s:g} s ({self._limit} at once)"
                )
            await asyncio.sleep(self._poll_s)
        try:
            yield
        finally:
            await self._redis.zrem(self._key, token)
