"""What the pick's micro-benchmarks share (bench/key_limits.py, sticky.py, quota.py): a Picker on the
real Redis under a prefix of its own, removed afterwards, and the command line printing their
figures in µs."""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from services.account_service.allocation.picker import Picker


@asynccontextmanager
async def scratch_picker(name: str) -> AsyncIterator[Picker]:
    redis = Redis.from_url(os.environ.get("POOLGATE_REDIS_URL", "redis://127.0.0.1:6379/0"))
    prefix = f"poolgate-bench-{name}-{uuid.uuid4().hex[:8]}"
    try:
        yield Picker(redis, prefix=prefix, lease_ttl_s=60)
    finally:
        async for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
            await redis.delete(key)
        await redis.aclose()


def run(
    doc: str | None,
    measure: Callable[[int], Awaitable[dict[str, float]]],
    *,
    default_calls: int,
    calls_help: str,
) -> None:
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument(
        "--calls", type=int, default=default_calls, help=f"{calls_help} (default {default_calls})"
    )
    results = asyncio.run(measure(parser.parse_args().calls))
    for name, value in results.items():
        print(f"{name:28} {value:8.1f} µs")
