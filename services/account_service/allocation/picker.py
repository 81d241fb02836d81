"""Pick and reserve an account in one Redis round trip; renew and release leases.

The pick script first releases the leases the caller says it has finished with (the proxy sends
its unconfirmed releases along with its next allocation, so a client calling back to back finds
its own slot free), then skips accounts that are cooling or full, drops expired leases (so a
crashed caller cannot hold a slot past its lease's TTL), draws one account by weight × recent
success rate × free capacity, and records the new lease, all atomically. The success rate has a
floor, so an account that failed for a while still gets the odd call that shows it has recovered.

Leases are short (`lease_ttl_s`, about a minute): the holder renews the ones still running.

Before the pick, the same script checks the calling key's limits (keys/limits.py), so a call over
one is refused without another round trip and before any account is taken.

Keys: `<prefix>:cooldown:<account>` (value: until, epoch ms), `<prefix>:inflight:<account>` (a
sorted set of lease ids scored by their expiry) and `<prefix>:health:<account>` (see health.py); per
API key `<prefix>:keyleases:<key>` (its leases, like `inflight`), `<prefix>:keyrpm:<key>` (its calls of
the last minute, scored by when) and `<prefix>:keytokens:<key>:<day>` (keys/tokens.py).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from services.account_service.keys.limits import Gate

# A lease id `<key id>/<unique>` also holds one of its key's concurrent slots (keys/limits.py `Gate`).
_RELEASE_KEY_SLOT = """
local function release_key_slot(prefix, lease)
  local slash = string.find(lease, '/', 1, true)
  if slash then redis.call('ZREM', prefix .. ':keyleases:' .. string.sub(lease, 1, slash - 1), lease) end
end
"""

# ARGV 7-12: the key's gate (keys/limits.py): its id ('' for none), '1' to check and count (a first
# attempt), its requests per minute, concurrency and tokens per day (0: none), and today's day.
# A refusal answers {'', '-1', '0', limit, retry after ms ('-1': unknown here)}.
_PICK = (
    _RELEASE_KEY_SLOT
    + """
local now, ttl, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local prefix, draw, released = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local gate, check = ARGV[7], ARGV[8] == '1'
local rpm, conc, tpd = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local first = 13 + 2 * released
for i = 13, first - 1, 2 do
  redis.call('ZREM', prefix .. ':inflight:' .. ARGV[i], ARGV[i + 1])
  release_key_slot(prefix, ARGV[i + 1])
end
if gate ~= '' and check then
  local used = tpd > 0 and redis.call('GET', prefix .. ':keytokens:' .. gate .. ':' .. ARGV[12])
  if used and tonumber(used) >= tpd then
    return {'', '-1', '0', 'tokens_per_day', '-1'}
  end
  if conc > 0 then
    local key = prefix .. ':keyleases:' .. gate
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    if redis.call('ZCARD', key) >= conc then return {'', '-1', '0', 'concurrency', '1000'} end
  end
  if rpm > 0 then
    local key = prefix .. ':keyrpm:' .. gate
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - 60000)
    if redis.call('ZCARD', key) >= rpm then
      local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      return {'', '-1', '0', 'requests_per_minute', tostring(tonumber(oldest[2]) + 60000 - now)}
    end
  end
end
local ids, weights, total, earliest, full = {}, {}, 0, -1, 0
for i = first, #ARGV, 3 do
  local id, weight, cap = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local cool = tonumber(redis.call('GET', prefix .. ':cooldown:' .. id) or '0')
  if cool > now then
    if earliest < 0 or cool < earliest then earliest = cool end
  else
    local key = prefix .. ':inflight:' .. id
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    local busy = redis.call('ZCARD', key)
    if busy >= cap then
      full = full + 1
    elseif weight > 0 then
      local rate = tonumber(redis.call('HGET', prefix .. ':health:' .. id, 'rate') or '1')
      local w = weight * math.max(rate, 0.05) * (cap - busy) / cap
      total = total + w
      ids[#ids + 1] = id
      weights[#weights + 1] = w
    end
  end
end
if total <= 0 then return {'', tostring(earliest), tostring(full)} end
local target, chosen = draw * total, ids[#ids]
for i = 1, #ids do
  target = target - weights[i]
  if target <= 0 then chosen = ids[i] break end
end
local key = prefix .. ':inflight:' .. chosen
redis.call('ZADD', key, now + ttl, lease)
redis.call('PEXPIRE', key, ttl)
if gate ~= '' then
  if conc > 0 then
    key = prefix .. ':keyleases:' .. gate
    redis.call('ZADD', key, now + ttl, lease)
    redis.call('PEXPIRE', key, ttl)
  end
  if rpm > 0 and check then
    key = prefix .. ':keyrpm:' .. gate
    redis.call('ZADD', key, now, lease)
    redis.call('PEXPIRE', key, 60000)
  end
end
return {chosen, '-1', tostring(full)}
"""
)

# A cooldown only ever grows: a short one (a 429 with a small Retry-After) arriving after a long one
# (a quota reset an hour away) must not cut it short.
_COOL_DOWN = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 0
"""

# ARGV: now, ttl, the number of leases to release, their (account, lease) pairs, then the pairs to
# renew. A lease is renewed only while it is still held: an expired one is not brought back.
_LEASES = (
    _RELEASE_KEY_SLOT
    + """
local prefix, now, ttl, released = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local first = 4 + 2 * released
for i = 4, first - 1, 2 do
  redis.call('ZREM', prefix .. ':inflight:' .. ARGV[i], ARGV[i + 1])
  release_key_slot(prefix, ARGV[i + 1])
end
local renewed = 0
for i = first, #ARGV, 2 do
  local key = prefix .. ':inflight:' .. ARGV[i]
  local lease = ARGV[i + 1]
  if redis.call('ZADD', key, 'XX', 'CH', now + ttl, lease) == 1 then
    redis.call('PEXPIRE', key, ttl)
    renewed = renewed + 1
    local slash = string.find(lease, '/', 1, true)
    if slash then
      key = prefix .. ':keyleases:' .. string.sub(lease, 1, slash - 1)
      redis.call('ZADD', key, 'XX', now + ttl, lease)
      redis.call('PEXPIRE', key, ttl)
    end
  end
end
return renewed
"""
)

Lease = tuple[str, str]  # (account_id, lease_id)


@dataclass(frozen=True, slots=True)
class Live:
    """What an account is doing now, for people to look at: its calls in flight (leases held and not
    expired) and the end of its cooldown (epoch ms), if it is cooling."""

    inflight: int = 0
    cooling_until_ms: int | None = None

    @property
    def cooling_until(self) -> datetime | None:
        if self.cooling_until_ms is None:
            return None
        return datetime.fromtimestamp(self.cooling_until_ms / 1000, UTC)


@dataclass(frozen=True, slots=True)
class Pick:
    account_id: str | None
    cooling_until_ms: int | None  # earliest end of a cooldown, when every candidate is cooling
    full: int
    refused: str | None = None  # the key's limit that refused the call (keys/limits.py)
    retry_after_ms: int | None = None  # when that limit lets a call through again, where known


class Picks(Protocol):
    """What allocation needs from a picker: this module's Redis one, `local.LocalPicker`, or
    `fallback.FallbackPicker`, which uses the first while Redis answers and the second while not."""

    async def pick(
        self,
        lease_id: str,
        candidates: Sequence[tuple[str, int, int]],
        *,
        release: Sequence[Lease] = (),
        gate: Gate | None = None,
    ) -> Pick: ...

    async def settle(self, *, release: Sequence[Lease] = (), renew: Sequence[Lease] = ()) -> int: ...

    async def cool_down(self, account_id: str, seconds: float) -> None: ...

    async def end_cooldown(self, account_id: str) -> None: ...

    async def live(self, account_ids: Sequence[str]) -> dict[str, Live]: ...


_NO_GATE = ("", "0", 0, 0, 0, "")


def _gate_args(gate: Gate) -> tuple:
    return (
        gate.key_id,
        "1" if gate.check else "0",
        gate.requests_per_minute or 0,
        gate.concurrency or 0,
        gate.tokens_per_day or 0,
        gate.day.isoformat(),
    )


class Picker:
    def __init__(self, redis: Redis, *, prefix: str, lease_ttl_s: float) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_ms = int(lease_ttl_s * 1000)
        self._pick = redis.register_script(_PICK)
        self._pick_sha = self._pick.sha
        self._leases = redis.register_script(_LEASES)
        self._cool_down = redis.register_script(_COOL_DOWN)

    async def pick(
        self,
        lease_id: str,
        candidates: Sequence[tuple[str, int, int]],
        *,
        release: Sequence[Lease] = (),
        gate: Gate | None = None,
    ) -> Pick:
        """Release `release`, check the key's `gate`, then pick one of (account_id, weight, cap) and
        lease it as `lease_id`."""
        args: list = [
            int(time.time() * 1000),
            self._ttl_ms,
            lease_id,
            self._prefix,
            random.random(),
            len(release),
            *(_NO_GATE if gate is None else _gate_args(gate)),
        ]
        for pair in release:
            args += pair
        for account_id, weight, cap in candidates:
            args += (account_id, weight, cap)
        try:
            # EVALSHA straight through `execute_command`: redis-py's script wrapper costs ~40 µs more
            # per call, and this runs once per client call (bench/).
            reply = await self._redis.execute_command("EVALSHA", self._pick_sha, 0, *args)
        except NoScriptError:  # a restarted or flushed Redis: the wrapper loads it again
            reply = await self._pick(args=args)
        if len(reply) > 3:
            limit, retry_after_ms = reply[3], int(reply[4])
            return Pick(
                None,
                None,
                0,
                refused=limit.decode() if isinstance(limit, bytes) else limit,
                retry_after_ms=retry_after_ms if retry_after_ms >= 0 else None,
            )
        chosen, earliest, full = reply
        chosen = chosen.decode() if isinstance(chosen, bytes) else chosen
        earliest = int(earliest)
        return Pick(
            account_id=chosen or None, cooling_until_ms=earliest if earliest >= 0 else None, full=int(full)
        )

    async def settle(self, *, release: Sequence[Lease] = (), renew: Sequence[Lease] = ()) -> int:
        """Release finished leases and extend running ones by the TTL; returns how many were renewed
        (a lease that already expired is not renewed)."""
        if not release and not renew:
            return 0
        args: list = [int(time.time() * 1000), self._ttl_ms, len(release)]
        for pair in (*release, *renew):
            args += pair
        return int(await self._leases(keys=[self._prefix], args=args))

    async def release(self, leases: Sequence[Lease]) -> None:
        await self.settle(release=leases)

    async def cool_down(self, account_id: str, seconds: float) -> None:
        until = int((time.time() + seconds) * 1000)
        await self._cool_down(
            keys=[f"{self._prefix}:cooldown:{account_id}"], args=[until, int(seconds * 1000)]
        )

    async def end_cooldown(self, account_id: str) -> None:
        await self._redis.delete(f"{self._prefix}:cooldown:{account_id}")

    async def live(self, account_ids: Sequence[str]) -> dict[str, Live]:
        """Each account's leases in flight and cooldown end, read in one round trip without changing
        anything (an expired lease is left for the pick script to drop, and not counted)."""
        if not account_ids:
            return {}
        now = int(time.time() * 1000)
        async with self._redis.pipeline(transaction=False) as pipe:
            for account_id in account_ids:
                pipe.zcount(f"{self._prefix}:inflight:{account_id}", f"({now}", "+inf")
                pipe.get(f"{self._prefix}:cooldown:{account_id}")
            replies = await pipe.execute()
        found = {}
        for i, account_id in enumerate(account_ids):
            inflight, cooling = replies[2 * i], replies[2 * i + 1]
            until = int(cooling) if cooling is not None else 0
            found[account_id] = Live(int(inflight), until if until > now else None)
        return found
