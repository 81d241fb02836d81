"""The Claude content blocks a converted stream has written: contiguous indices, one open at a time."""

from __future__ import annotations

from collections.abc import Callable

from services.proxy_service.formats import claude_events as ev

TEXT, THINKING, TOOL = 1, 2, 3


class Blocks:
    __slots__ = ("kind", "next", "open", "out")

    def __init__(self) -> None:
        self.out: list[bytes] = []  # the events written since the caller last took them
        self.next = 0
        self.open = -1  # index of the open block, -1 when none is
        self.kind = 0  # its kind (TEXT, THINKING, TOOL), 0 when none is open

    def start(self, kind: int, frame: Callable[[int], bytes]) -> int:
        index = self.next
        self.next += 1
        self.open, self.kind = index, kind
        self.out.append(frame(index))
        return index

    def stop(self) -> None:
        if self.open >= 0:
            self.out.append(ev.block_stop(self.open))
            self.open, self.kind = -1, 0
