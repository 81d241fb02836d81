"""What limits per API key add to an allocation, measured in-process against the real Redis (no
stack, a few seconds): the pick script's round trip for a key without limits and for one with all
three counted limits, each carrying the release of the call before it as a client calling back to
back does, plus the Python work of building the key's gate.

    .venv/bin/python -m bench.key_limits [--calls 5000]

Calls alternate between the two kinds in rounds, so drift on a shared machine hits both alike; the
answer is the median of each kind's per-call time, in µs.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import date

from bench.micro import run, scratch_picker
from services.account_service.allocation.picker import Picker
from services.account_service.allocation.service import Allocator
from services.account_service.keys.limits import Gate, LimitDefaults, model_allowed
from services.account_service.keys.schemas import KeyIdentity

CANDIDATES = [(f"account-{n}", 100, 1_000_000) for n in range(8)]
ROUND = 100


async def _round(picker: Picker, gate: Gate | None, previous: list, calls: int) -> float:
    """Per-call seconds of `calls` picks, each releasing the lease of the one before."""
    started = time.perf_counter()
    for _ in range(calls):
        lease = uuid.uuid4().hex if gate is None else gate.lease_id(uuid.uuid4().hex)
        pick = await picker.pick(lease, CANDIDATES, release=previous, gate=gate)
        assert pick.account_id is not None, pick
        previous = [(pick.account_id, lease)]
    return (time.perf_counter() - started) / calls


def _gate_cost(calls: int) -> float:
    """Seconds per call of the Python side: the key's gate and its model check."""
    allocator = Allocator(
        index=None, keys=None, picker=None, public_pool=False, limit_defaults=LimitDefaults()
    )  # type: ignore[arg-type]
    identity = KeyIdentity(
        id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        enabled=True,
        user_disabled=False,
        is_admin=False,
        requests_per_minute=10**6,
        concurrency=10**6,
        tokens_per_day=10**12,
        allowed_models=["gpt-4o-mini", "claude-*"],
    )
    started = time.perf_counter()
    for _ in range(calls):
        allocator._gate(identity, retry=False)
        model_allowed(identity.allowed_models, "claude-sonnet-4-5")
    return (time.perf_counter() - started) / calls


async def measure(calls: int) -> dict[str, float]:
    gate = Gate(uuid.uuid4().hex, True, 10**6, 10**6, 10**12, date.today())
    plain_times: list[float] = []
    gated_times: list[float] = []
    async with scratch_picker("key-limits") as picker:
        await _round(picker, None, [], ROUND)  # loads the script, warms the connection
        await _round(picker, gate, [], ROUND)
        for _ in range(max(1, calls // ROUND)):
            plain_times.append(await _round(picker, None, [], ROUND))
            gated_times.append(await _round(picker, gate, [], ROUND))
    plain, gated = statistics.median(plain_times), statistics.median(gated_times)
    python = _gate_cost(calls)
    return {
        "pick_us_without_limits": plain * 1e6,
        "pick_us_with_limits": gated * 1e6,
        "python_us_per_call": python * 1e6,
        "added_us_per_call": (gated - plain + python) * 1e6,
    }


def main() -> None:
    run(__doc__, measure, default_calls=5000, calls_help="picks of each kind")


if __name__ == "__main__":
    main()
