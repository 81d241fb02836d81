"""Announces `pool.unavailable` when allocation refuses a call because no account of the caller's pool
can serve the model: at most once per user and model per `window_s`, decided in memory, so the hot
path never writes per call. The announcement (one outbox row) is written in a task of its own, after
the refusal was answered; a failed write is logged and the next refusal after the window tries again.
Per replica: with several replicas a window may see one announcement from each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from shared.logging import get_logger
from shared.messages.contracts import PoolUnavailable

log = get_logger(__name__)

Announce = Callable[[PoolUnavailable], Awaitable[None]]
_MAX_REMEMBERED = 10_000


class UnavailableNotice:
    def __init__(
        self, announce: Announce, *, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._announce = announce
        self._window_s = window_s
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._tasks: set[asyncio.Task] = set()

    def refused(self, *, user_id: str, model: str, capability: str, reason: str) -> None:
        now = self._clock()
        key = (user_id, model)
        last = self._last.get(key)
        if last is not None and now - last < self._window_s:
            return
        if len(self._last) >= _MAX_REMEMBERED:
            self._last = {k: t for k, t in self._last.items() if now - t < self._window_s}
        self._last[key] = now
        event = PoolUnavailable(user_id=user_id, model=model, capability=capability, reason=reason)
        task = asyncio.create_task(self._send(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, event: PoolUnavailable) -> None:
        try:
            await self._announce(event)
        except Exception as exc:
            self._last.pop((event.user_id, event.model), None)  # the next refusal tries again
            log.warning("pool.unavailable_unannounced", user_id=event.user_id, error=repr(exc))

    async def close(self) -> None:
        """Wait for announcements under way (at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
