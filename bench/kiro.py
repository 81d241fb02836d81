"""The Kiro path: the direct call's body, counting what each side streamed, and the in-process CPU cost
of decoding Kiro's AWS event-stream frames and converting them to the client's format (KiroBridge).

The loads themselves are in bench/scenarios.py (group "kiro"); this module holds what is specific to
Kiro: the direct side answers binary event-stream frames while the proxy answers JSON or SSE, so the
two are compared on what they mean (text deltas), not on raw event counts.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson

from services.proxy_service.formats.client_format import CLAUDE, OPENAI, ClientFormat
from services.proxy_service.formats.tool_names import ToolNameMap
from services.proxy_service.upstreams.kiro.bridge import KiroBridge
from services.proxy_service.upstreams.kiro.eventstream import EventStreamDecoder, Message, encode_message
from services.proxy_service.upstreams.kiro.request import build_payload

MODEL = "claude-sonnet-4-6"  # a model Kiro serves (shared/kiro_models.py)
REGION = "us-east-1"
TEXT_EVENT = "assistantResponseEvent"
CONVERT_TARGET_US = 80.0  # DESIGN.md §9: CPU per event when converting a stream

# --- the direct call and the event counts --------------------------------------------------------------


def direct_body(anthropic_body: dict[str, Any]) -> bytes:
    """The `generateAssistantResponse` body the proxy would send for this Anthropic request, built once."""
    return orjson.dumps(build_payload(anthropic_body, names=ToolNameMap(), profile_arn=None))


def frames(body: bytes) -> list[Message]:
    """Every event-stream frame of a whole Kiro answer (raises EventStreamError on a broken one)."""
    decoder = EventStreamDecoder()
    messages = decoder.feed(body)
    if decoder.buffered:
        raise ValueError(f"the answer ends inside a frame ({decoder.buffered} bytes left over)")
    return messages


def text_events(body: bytes) -> int:
    """Kiro frames that carry text (`assistantResponseEvent` with non-empty content)."""
    return sum(
        1 for m in frames(body) if m.event_type == TEXT_EVENT and orjson.loads(m.payload).get("content")
    )


def kiro_text(body: bytes) -> str:
    return "".join(
        orjson.loads(m.payload).get("content", "") for m in frames(body) if m.event_type == TEXT_EVENT
    )


def _sse_data(body: bytes) -> list[Any]:
    out = []
    for event in body.split(b"\n\n"):
        for line in event.split(b"\n"):
            if line.startswith(b"data:") and line[5:].strip() != b"[DONE]":
                out.append(orjson.loads(line[5:]))
    return out


def _delta_text(data: Any) -> str:
    """The text an SSE event adds: an Anthropic `text_delta` or an OpenAI chunk's `delta.content`."""
    if not isinstance(data, dict):
        return ""
    delta = data.get("delta")
    if (
        data.get("type") == "content_block_delta"
        and isinstance(delta, dict)
        and delta.get("type") == "text_delta"
    ):
        return delta.get("text") or ""
    choices = data.get("choices") or []
    return "".join((c.get("delta") or {}).get("content") or "" for c in choices if isinstance(c, dict))


def sse_text_deltas(body: bytes) -> int:
    """SSE events of the proxy's stream that carry text."""
    return sum(1 for data in _sse_data(body) if _delta_text(data))


def sse_text(body: bytes) -> str:
    return "".join(_delta_text(data) for data in _sse_data(body))


def message_text(body: bytes) -> str:
    """The text of a whole Anthropic message or OpenAI completion."""
    data = orjson.loads(body)
    if "choices" in data:
        return "".join(c["message"].get("content") or "" for c in data["choices"])
    return "".join(block.get("text", "") for block in data.get("content", []) if block.get("type") == "text")


def compare(name: str, stream: bool, direct: bytes, proxied: bytes) -> str | None:
    """A problem when the proxy's answer does not carry what the fake Kiro sent (same text; for a stream,
    one text delta per Kiro text frame), else None."""
    if stream:
        sent, relayed = text_events(direct), sse_text_deltas(proxied)
        if sent != relayed:
            return f"{name}: Kiro sent {sent} text frames, the proxy relayed {relayed} text deltas"
        text = sse_text(proxied)
    else:
        text = message_text(proxied)
    if text != kiro_text(direct):
        return f"{name}: the proxy's text {text[:60]!r} differs from Kiro's {kiro_text(direct)[:60]!r}"
    return None


# --- decode + convert, in process -----------------------------------------------------------------------

_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
REQUEST = {
    "model": MODEL,
    "max_tokens": 1024,
    "stream": True,
    "tools": [_TOOL],
    "messages": [{"role": "user", "content": "What is the weather in Paris? Answer at length."}],
}
OPENAI_REQUEST = {
    "model": MODEL,
    "stream": True,
    "stream_options": {"include_usage": True},
    "tools": [{"type": "function", "function": {
        "name": _TOOL["name"], "description": _TOOL["description"], "parameters": _TOOL["input_schema"],
    }}],
    "messages": REQUEST["messages"],
}  # fmt: skip
_WORDS = ("The ", "weather ", "in ", "Paris ", "is ", "mild, ", '"quoted" ', "café ", "et ", "ciel.\n")
_TOOL_INPUT = ('{"city": ', '"Par', 'is", "unit"', ': "celsius"}')


def _frame(event_type: str, payload: dict[str, Any]) -> bytes:
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, orjson.dumps(payload))


def answer_frames(text_events: int) -> list[bytes]:
    """A realistic Kiro answer: `text_events` text frames of a few words (quotes, accents and newlines
    included, so JSON escaping is exercised), a tool call in 4 input fragments and its stop, then the
    metering and context usage frames."""
    out = [
        _frame(TEXT_EVENT, {"content": "".join(_WORDS[(i + k) % len(_WORDS)] for k in range(3))})
        for i in range(text_events)
    ]
    tool = {"name": _TOOL["name"], "toolUseId": "tooluse_bench0123456789"}
    out += [_frame("toolUseEvent", {**tool, "input": part}) for part in _TOOL_INPUT]
    out.append(_frame("toolUseEvent", {**tool, "stop": True}))
    out.append(_frame("meteringEvent", {"unit": "credit", "unitPlural": "credits", "usage": 0.01}))
    out.append(_frame("contextUsageEvent", {"contextUsagePercentage": 0.42}))
    return out


def _pieces(answer: list[bytes], slicing: str) -> list[bytes]:
    if slicing == "frame":
        return answer
    body, size = b"".join(answer), 4096
    return [body[i : i + size] for i in range(0, len(body), size)]


def _request(client: ClientFormat) -> dict[str, Any]:
    return OPENAI_REQUEST if client is OPENAI else REQUEST


def _stream(client: ClientFormat, pieces: list[bytes]) -> Callable[[], float]:
    def once() -> float:
        bridge = KiroBridge(client, MODEL, profile_arn=None)
        bridge.request_body(b"", _request(client))  # per call, not per event: outside the timing
        started = time.perf_counter()
        bridge.stream_start()
        for piece in pieces:
            bridge.stream_chunk(piece)
        bridge.stream_end()
        elapsed = time.perf_counter() - started
        if bridge.stream_failed:
            raise RuntimeError(f"KiroBridge failed on the bench answer ({client.name})")
        return elapsed

    return once


def _whole(client: ClientFormat, body: bytes) -> Callable[[], float]:
    def once() -> float:
        bridge = KiroBridge(client, MODEL, profile_arn=None)
        bridge.request_body(b"", {**_request(client), "stream": False})
        started = time.perf_counter()
        bridge.response_body(body, None)
        return time.perf_counter() - started

    return once


def _decode(pieces: list[bytes]) -> Callable[[], float]:
    def once() -> float:
        started = time.perf_counter()
        decoder = EventStreamDecoder()
        for piece in pieces:
            decoder.feed(piece)
        return time.perf_counter() - started

    return once


# (key, what is measured, client, whether §9's converting-stream target applies)
CASES = (
    ("decode_4k", "decode only (EventStreamDecoder), 4 KiB reads", None, False),
    ("decode_frame", "decode only (EventStreamDecoder), one read per frame", None, False),
    ("anthropic_stream_4k", "decode + convert, Anthropic client stream, 4 KiB reads", CLAUDE, True),
    ("anthropic_stream_frame", "decode + convert, Anthropic client stream, one read per frame", CLAUDE, True),
    ("anthropic_whole", "decode + build one Anthropic message (non-streaming)", CLAUDE, False),
    ("openai_stream_4k", "decode + convert, OpenAI client stream, 4 KiB reads", OPENAI, True),
    ("openai_stream_frame", "decode + convert, OpenAI client stream, one read per frame", OPENAI, True),
    ("openai_whole", "decode + build one OpenAI completion (non-streaming)", OPENAI, False),
)


def measure_cpu(*, text_frames: int = 200, rounds: int = 5, budget_s: float = 0.15) -> dict[str, Any]:
    """µs per upstream event for each case: `rounds` rounds of as many whole answers as fit in about
    `budget_s`; the median round is reported (and the best, which is less sensitive to other load)."""
    answer = answer_frames(text_frames)
    events = len(answer)
    results: dict[str, Any] = {
        "events_per_answer": events,
        "answer_bytes": sum(map(len, answer)),
        "cases": {},
    }
    for key, title, client, stream_target in CASES:
        pieces = _pieces(answer, "frame" if key.endswith("_frame") else "4k")
        if client is None:
            once = _decode(pieces)
        elif key.endswith("_whole"):
            pieces = [b"".join(answer)]
            once = _whole(client, pieces[0])
        else:
            once = _stream(client, pieces)
        once()  # warm-up, and fails early on a broken answer
        iterations = max(1, int(budget_s / max(once(), 1e-6)))
        per_event = [
            1e6 * sum(once() for _ in range(iterations)) / (iterations * events) for _ in range(rounds)
        ]
        results["cases"][key] = {
            "title": title,
            "reads": len(pieces),
            "us_per_event": statistics.median(per_event),
            "best_us_per_event": min(per_event),
            "iterations": iterations * rounds,
            "target_us": CONVERT_TARGET_US if stream_target else None,
        }
    return results
