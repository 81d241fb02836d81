"""OpenAI `chat.completion.chunk` events, framed from bytes fixed once per stream.

Every chunk of a stream shares its id, creation time and model (the client's), so that envelope is
encoded once and each event only encodes its delta.
"""

from __future__ import annotations

from typing import Any

import orjson

from services.proxy_service.formats.ids import new_completion_id
from services.proxy_service.formats.usage_conversion import openai_usage

_dumps = orjson.dumps
_OPEN = b',"finish_reason":null}]}\n\n'
DONE = b"data: [DONE]\n\n"
_FIRST_DELTA = b'{"role":"assistant","content":""}'
_ARGUMENTS = b'{"tool_calls":[{"index":%d,"function":{"arguments":%b}}]}'


class ChunkWriter:
    __slots__ = ("_created", "_envelope", "_head", "_model", "out")

    def __init__(self, *, model: str, created: int) -> None:
        self._model = model
        self._created = created
        self._envelope = b""
        self._head = b""  # every chunk's bytes up to its delta
        self.out: list[bytes] = []

    def set_id(self, completion_id: str) -> None:
        self._envelope = b'data: {"id":%b,"object":"chat.completion.chunk","created":%d,"model":%b,' % (
            _dumps(completion_id),
            self._created,
            _dumps(self._model),
        )
        self._head = self._envelope + b'"choices":[{"index":0,"delta":'

    def delta(self, delta: bytes) -> None:
        """A chunk whose delta is `delta` (already JSON)."""
        if not self._head:  # an upstream that skipped message_start
            self.set_id(new_completion_id())
        self.out.append(self._head + delta + _OPEN)

    def first_delta(self) -> None:
        """The opening chunk: the assistant's role and empty content."""
        self.delta(_FIRST_DELTA)

    def arguments(self, tool: int, arguments: bytes) -> None:
        """A piece of tool call `tool`'s arguments; `arguments` is a JSON string (already encoded)."""
        self.delta(_ARGUMENTS % (tool, arguments))

    def finish(self, reason: str) -> None:
        if not self._head:
            self.set_id(new_completion_id())
        self.out.append(self._head + b'{},"finish_reason":"%b"}]}\n\n' % reason.encode())

    def usage(self, claude_usage: dict[str, Any]) -> None:
        """The usage-only chunk OpenAI sends last when `stream_options.include_usage` was asked."""
        usage = _dumps(openai_usage(claude_usage))
        self.out.append(self._envelope + b'"choices":[],"usage":' + usage + b"}\n\n")
