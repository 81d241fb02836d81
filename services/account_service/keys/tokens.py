"""Tokens per API key and day, in Redis, where the allocation's pick script reads them (picker.py).

`usage.recorded` (usage/consumer.py) adds each attempt's input and output tokens to
`<prefix>:keytokens:<key>:<day>`, the day being the configured one (shared/day_boundary.py) in which
the attempt happened. The first batch to bring a key's count to its limit in a day is told so, once:
a flag `<prefix>:keyreached:<key>:<day>` set in the same script, so that `api_key.limit_reached` is
published once per key and day however many replicas count.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from redis.asyncio import Redis

KEPT_MS = 3 * 24 * 3600 * 1000  # a day's count outlives its day (a late event, any time zone)

_ADD = """
local prefix, kept, reached = KEYS[1], tonumber(ARGV[1]), {}
for i = 2, #ARGV, 4 do
  local id, day, tokens, limit = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local key = prefix .. ':keytokens:' .. id .. ':' .. day
  local total = redis.call('INCRBY', key, tokens)
  redis.call('PEXPIRE', key, kept)
  if limit > 0 and total >= limit
    and redis.call('SET', prefix .. ':keyreached:' .. id .. ':' .. day, '1', 'NX', 'PX', kept) then
    reached[#reached + 1] = id
    reached[#reached + 1] = day
  end
end
return reached
"""


class KeyTokens:
    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._prefix = prefix
        self._redis = redis
        self._add = redis.register_script(_ADD)

    async def add(self, counts: Mapping[tuple[str, date], tuple[int, int | None]]) -> list[tuple[str, date]]:
        """Add {(key_id, day): (tokens, the key's limit or None)}; returns the (key_id, day) pairs whose
        limit was reached by this call, each only the first time in its day."""
        if not counts:
            return []
        args: list = [KEPT_MS]
        for (key_id, day), (tokens, limit) in counts.items():
            args += (key_id, day.isoformat(), tokens, limit or 0)
        flat = await self._add(keys=[self._prefix], args=args)
        flat = [x.decode() if isinstance(x, bytes) else x for x in flat]
        return [(flat[i], date.fromisoformat(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def used(self, key_id: str, day: date) -> int:
        value = await self._redis.get(f"{self._prefix}:keytokens:{key_id}:{day.isoformat()}")
        return int(value or 0)
