"""The tool calls of one converted OpenAI stream (conversion.md §2.4 steps 7 and 8).

Calls are keyed by their `index`; a known index arriving with a different id is a new call. The
first call streams live. A further call starting while the live one's arguments are not yet complete
JSON (providers that name every call first and send the arguments later, or bundle them in the last
chunk) is held back with its arguments, and written whole — start, one delta, stop — when the tool
section ends, with cut-short arguments repaired. A block that got no arguments gets `"{}"`.
"""

from __future__ import annotations

from typing import Any

import orjson

from services.proxy_service.formats import claude_events as ev
from services.proxy_service.formats.ids import clean_tool_id, tool_id_for
from services.proxy_service.formats.json_args import parse_arguments
from services.proxy_service.formats.openai_to_claude._blocks import TOOL, Blocks
from services.proxy_service.formats.tool_names import ToolNameMap


class _Tool:
    __slots__ = ("args", "block", "name", "upstream_id")

    def __init__(self, upstream_id: Any, name: Any) -> None:
        self.upstream_id = upstream_id
        self.name = name if isinstance(name, str) else ""
        self.args: list[str] = []
        self.block = -1


class ToolCalls:
    __slots__ = ("_blocks", "_by_index", "_held", "_live", "_message_id", "_names", "used")

    def __init__(self, blocks: Blocks, *, message_id: str, names: ToolNameMap) -> None:
        self._blocks = blocks
        self._message_id = message_id
        self._names = names
        self._by_index: dict[int, _Tool] = {}
        self._live: _Tool | None = None  # the call whose block is open
        self._held: list[_Tool] = []
        self.used = False  # any call at all: the answer's stop reason is tool_use

    def feed(self, calls: list[Any]) -> None:
        for position, entry in enumerate(calls):
            if not isinstance(entry, dict):
                continue
            key = entry.get("index")
            if not isinstance(key, int):
                key = position
            function = entry.get("function")
            if not isinstance(function, dict):
                function = {}
            upstream_id = entry.get("id")
            tool = self._by_index.get(key)
            if tool is None or (upstream_id and tool.upstream_id and upstream_id != tool.upstream_id):
                tool = self._by_index[key] = _Tool(upstream_id, function.get("name"))
                self._begin(tool)
            else:
                if upstream_id and not tool.upstream_id:
                    tool.upstream_id = upstream_id
                name = function.get("name")
                if name and isinstance(name, str) and not tool.name:
                    tool.name = name  # only a call still held back can use it
            arguments = function.get("arguments")
            if arguments:
                if not isinstance(arguments, str):
                    arguments = orjson.dumps(arguments).decode()
                tool.args.append(arguments)
                if tool is self._live:
                    self._blocks.out.append(ev.json_delta(tool.block, arguments))
                # a call whose block is already closed cannot take more: never a delta to a stopped index

    def close(self) -> None:
        """Close the open block (whatever its kind); a live call without arguments gets `{}`."""
        live = self._live
        if live is not None:
            if not "".join(live.args).strip():
                self._blocks.out.append(ev.json_delta(live.block, "{}"))
            self._live = None
        self._blocks.stop()

    def settle(self) -> None:
        """End the tool section: close the open block and write out the calls held back."""
        self.close()
        if not self._held:
            return
        held, self._held = self._held, []
        out = self._blocks.out
        for tool in held:
            self._start(tool)
            arguments = "".join(tool.args)
            if not _is_json(arguments):
                arguments = orjson.dumps(parse_arguments(arguments)).decode()
            out.append(ev.json_delta(tool.block, arguments))
            self._blocks.stop()

    def _begin(self, tool: _Tool) -> None:
        self.used = True
        live = self._live
        if tool.name and not self._held and (live is None or _is_json("".join(live.args))):
            self.settle()
            self._start(tool)
            self._live = tool
        else:
            self._held.append(tool)

    def _start(self, tool: _Tool) -> None:
        def frame(index: int) -> bytes:
            tool_id = clean_tool_id(tool.upstream_id) or tool_id_for(self._message_id, index)
            return ev.tool_start(index, tool_id, self._names.client(tool.name))

        tool.block = self._blocks.start(TOOL, frame)


def _is_json(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True
