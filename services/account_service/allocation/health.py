"""Live account health in Redis, fed by `usage.recorded` outcomes.

Per account, a hash `<prefix>:health:<account>` holds `rate`, an exponentially weighted success
rate (the pick script multiplies weights by it), and `errors`, the count of consecutive server
errors. The third server error in a row cools the account briefly; each further one doubles the
cooldown up to a ceiling; a success resets the count. One script call per batch, atomically.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

ALPHA = 0.2
ERRORS_BEFORE_COOLDOWN = 3
BASE_COOLDOWN_S = 5
MAX_COOLDOWN_S = 300
HEALTH_TTL_S = 24 * 3600

_RECORD = """
local prefix, now, alpha = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local threshold, base = tonumber(ARGV[3]), tonumber(ARGV[4])
local ceiling, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
local cooled = {}
for i = 7, #ARGV, 3 do
  local id, ok, server_error = ARGV[i], ARGV[i + 1] == '1', ARGV[i + 2] == '1'
  local key = prefix .. ':health:' .. id
  local rate = tonumber(redis.call('HGET', key, 'rate') or '1')
  rate = rate * (1 - alpha) + (ok and alpha or 0)
  local errors = 0
  if server_error then
    errors = redis.call('HINCRBY', key, 'errors', 1)
  else
    redis.call('HSET', key, 'errors', 0)
  end
  redis.call('HSET', key, 'rate', tostring(rate))
  redis.call('EXPIRE', key, ttl)
  if errors >= threshold then
    local seconds = math.min(base * 2 ^ (errors - threshold), ceiling)
    local until_ms = now + seconds * 1000
    local current = tonumber(redis.call('GET', prefix .. ':cooldown:' .. id) or '0')
    if until_ms > current then
      redis.call('SET', prefix .. ':cooldown:' .. id, until_ms, 'PX', math.floor(seconds * 1000))
    end
    cooled[#cooled + 1] = id
    cooled[#cooled + 1] = tostring(seconds)
  end
end
return cooled
"""


@dataclass(frozen=True, slots=True)
class Recent:
    """What recent calls said of an account: its success rate (1.0 for one with no outcome yet) and
    how many server errors it had in a row."""

    rate: float = 1.0
    server_errors: int = 0


class Health:
    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._prefix = prefix
        self._record = redis.register_script(_RECORD)
        self._redis = redis

    async def record(self, outcomes: Sequence[tuple[str, bool, bool]]) -> dict[str, float]:
        """Apply (account_id, succeeded, server_error) outcomes in order; returns accounts newly cooled."""
        if not outcomes:
            return {}
        args: list = [
            int(time.time() * 1000),
            ALPHA,
            ERRORS_BEFORE_COOLDOWN,
            BASE_COOLDOWN_S,
            MAX_COOLDOWN_S,
            HEALTH_TTL_S,
        ]
        for account_id, ok, server_error in outcomes:
            args += (account_id, "1" if ok else "0", "1" if server_error else "0")
        flat = await self._record(keys=[self._prefix], args=args)
        flat = [x.decode() if isinstance(x, bytes) else x for x in flat]
        return {flat[i]: float(flat[i + 1]) for i in range(0, len(flat), 2)}

    async def forget(self, account_id: str) -> None:
        """Drop the account's success rate and error count: it starts again as a new account would."""
        await self._redis.delete(f"{self._prefix}:health:{account_id}")

    async def rate(self, account_id: str) -> float:
        value = await self._redis.hget(f"{self._prefix}:health:{account_id}", "rate")
        return float(value) if value is not None else 1.0

    async def recent(self, account_ids: Sequence[str]) -> dict[str, Recent]:
        """Every account's `Recent`, in one round trip."""
        if not account_ids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for account_id in account_ids:
                pipe.hmget(f"{self._prefix}:health:{account_id}", "rate", "errors")
            replies = await pipe.execute()
        return {
            account_id: Recent(float(rate) if rate is not None else 1.0, int(errors or 0))
            for account_id, (rate, errors) in zip(account_ids, replies, strict=True)
        }
