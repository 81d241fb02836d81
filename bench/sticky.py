"""What sticky sessions add to a call, measured in-process against the real Redis (no stack, a few
seconds): the pick script's round trip without a session and with one (its binding read, found
eligible and renewed), each carrying the release of the call before it as a client calling back to
back does; plus the Python work: the proxy naming the session (Claude Code's `metadata.user_id`, and
the last-resort hash of a 16 kB system prompt and a first message) and allocation's binding key.

    .venv/bin/python -m bench.sticky [--calls 5000]

Calls alternate between the two kinds in rounds, so drift on a shared machine hits both alike; the
answer is the median of each kind's per-call time, in µs.
"""

from __future__ import annotations

import statistics
import time
import uuid

from bench.micro import run, scratch_picker
from services.account_service.allocation.picker import Picker
from services.account_service.allocation.sticky import Sticky, sticky_for
from services.proxy_service.formats import CLAUDE
from services.proxy_service.relay.session import session_of

CANDIDATES = [(f"account-{n}", 100, 1_000_000) for n in range(8)]
ROUND = 100
SYSTEM = [{"type": "text", "text": "You are Claude Code. " * 800}]  # about 16 kB, as Claude Code's
HISTORY = [
    {"role": "user", "content": "Fix the failing test in tests/unit/test_app.py"},
    {"role": "assistant", "content": "Looking at it."},
    {"role": "user", "content": "Go on"},
]


async def _round(picker: Picker, sticky: Sticky | None, calls: int) -> float:
    """Per-call seconds of `calls` picks, each releasing the lease of the one before."""
    previous: list = []
    started = time.perf_counter()
    for _ in range(calls):
        lease = uuid.uuid4().hex
        pick = await picker.pick(lease, CANDIDATES, release=previous, sticky=sticky)
        assert pick.account_id is not None, pick
        assert sticky is None or pick.sticky in ("hit", "new"), pick
        previous = [(pick.account_id, lease)]
    return (time.perf_counter() - started) / calls


def _python_cost(calls: int) -> tuple[float, float]:
    """Seconds per call of the Python side, with Claude Code's key and with the last-resort hash."""
    hashed = {"model": "m", "system": SYSTEM, "messages": HISTORY}
    with_id = {**hashed, "metadata": {"user_id": '{"device_id":"d","session_id":"s"}'}}
    key_id = str(uuid.uuid4())
    costs = []
    for body in (with_id, hashed):
        started = time.perf_counter()
        for _ in range(calls):
            session = session_of(body, CLAUDE)
            assert session is not None
            sticky_for(key_id, session.key, lookup=session.lookup, ttl_s=3600)
        costs.append((time.perf_counter() - started) / calls)
    return costs[0], costs[1]


async def measure(calls: int) -> dict[str, float]:
    sticky = Sticky(f"{uuid.uuid4()}:{uuid.uuid4().hex}", 3_600_000, True)
    plain_times: list[float] = []
    sticky_times: list[float] = []
    async with scratch_picker("sticky") as picker:
        await _round(picker, None, ROUND)  # loads the script, warms the connection
        await _round(picker, sticky, ROUND)  # binds the session
        for _ in range(max(1, calls // ROUND)):
            plain_times.append(await _round(picker, None, ROUND))
            sticky_times.append(await _round(picker, sticky, ROUND))
    plain, bound = statistics.median(plain_times), statistics.median(sticky_times)
    explicit, hashed = _python_cost(calls)
    return {
        "pick_us_without_session": plain * 1e6,
        "pick_us_with_session": bound * 1e6,
        "python_us_explicit_key": explicit * 1e6,
        "python_us_hashed_text": hashed * 1e6,
        "added_us_per_call": (bound - plain + explicit) * 1e6,
        "added_us_per_call_hashed": (bound - plain + hashed) * 1e6,
    }


def main() -> None:
    run(__doc__, measure, default_calls=5000, calls_help="picks of each kind")


if __name__ == "__main__":
    main()
