"""Kiro's thinking is text: with thinking asked for, the answer opens with `<thinking>…</thinking>`.

`ThinkingSplitter` turns the streamed text into (is_thinking, text) pieces. Only a tag at the very
start of the answer (after whitespace) opens thinking, so a model writing about the tag later is
not mistaken for thinking; a tag cut across two events is held back until it is whole.
"""

from __future__ import annotations

OPEN = "<thinking>"
CLOSE = "</thinking>"

_START, _THINKING, _TEXT = range(3)


class ThinkingSplitter:
    __slots__ = ("_held", "_state", "_trim")

    def __init__(self, enabled: bool) -> None:
        self._state = _START if enabled else _TEXT
        self._held = ""
        self._trim = False  # drop the newlines the model writes right after the closing tag

    def feed(self, text: str) -> list[tuple[bool, str]]:
        if self._state == _TEXT and not self._held and not self._trim:
            return [(False, text)] if text else []
        text = self._held + text
        self._held = ""
        out: list[tuple[bool, str]] = []
        while text:
            if self._state == _START:
                stripped = text.lstrip()
                if stripped.startswith(OPEN):
                    text = stripped[len(OPEN) :]
                    self._state = _THINKING
                elif OPEN.startswith(stripped):  # maybe the tag, not yet whole
                    self._held = text
                    return out
                else:
                    self._state = _TEXT
            elif self._state == _THINKING:
                end = text.find(CLOSE)
                if end >= 0:
                    if end:
                        out.append((True, text[:end]))
                    text = text[end + len(CLOSE) :]
                    self._state, self._trim = _TEXT, True
                    continue
                keep = _partial_suffix(text, CLOSE)
                if len(text) > keep:
                    out.append((True, text[: len(text) - keep]))
                self._held = text[len(text) - keep :] if keep else ""
                return out
            else:
                if self._trim:
                    text = text.lstrip("\n")
                    if not text:
                        return out
                    self._trim = False
                out.append((False, text))
                return out
        return out

    def flush(self) -> list[tuple[bool, str]]:
        """Whatever was held back at the end of the answer, as it was written."""
        held, self._held = self._held, ""
        if not held:
            return []
        return [(self._state == _THINKING, held)]


def _partial_suffix(text: str, tag: str) -> int:
    """The length of the longest end of `text` that could begin `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0
