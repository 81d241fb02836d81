"""bench.kiro: counting what the fake Kiro sent against what the proxy relayed, and the decode + convert
micro-benchmark's rows."""

from __future__ import annotations

import orjson
import pytest

from bench import kiro, report
from bench.scenarios import LOADS
from tests.fakes import _kiro_frames  # the fake's own encoder, independent of the proxy's codec


def _kiro_answer(*texts: str) -> bytes:
    frames = [_kiro_frames.event("assistantResponseEvent", orjson.dumps({"content": t})) for t in texts]
    frames.append(_kiro_frames.event("contextUsageEvent", b'{"contextUsagePercentage":0.1}'))
    return b"".join(frames)


def _claude_sse(*texts: str) -> bytes:
    events = [b'event: message_start\ndata: {"type":"message_start","message":{}}']
    deltas = [{"type": "text_delta", "text": t} for t in texts]
    events += [
        b"event: content_block_delta\ndata: "
        + orjson.dumps({"type": "content_block_delta", "index": 0, "delta": d})
        for d in deltas
    ]
    events.append(b'event: message_stop\ndata: {"type":"message_stop"}')
    return b"\n\n".join(events) + b"\n\n"


def _openai_sse(*texts: str) -> bytes:
    events = [b"data: " + orjson.dumps({"choices": [{"index": 0, "delta": {"content": t}}]}) for t in texts]
    return b"\n\n".join([*events, b"data: [DONE]"]) + b"\n\n"


def test_counts_text_frames_and_text_deltas() -> None:
    answer = _kiro_answer("Hel", "lo ", "there")
    assert len(kiro.frames(answer)) == 4
    assert kiro.text_events(answer) == 3 and kiro.kiro_text(answer) == "Hello there"
    assert kiro.sse_text_deltas(_claude_sse("Hel", "lo ", "there")) == 3
    assert kiro.sse_text_deltas(_openai_sse("Hel", "lo ", "there")) == 3
    assert kiro.sse_text(_openai_sse("a", "b")) == "ab"


def test_compare_flags_lost_deltas_and_other_text() -> None:
    answer = _kiro_answer("Hel", "lo")
    assert kiro.compare("s", True, answer, _claude_sse("Hel", "lo")) is None
    assert kiro.compare("s", True, answer, _claude_sse("Hello")) == (
        "s: Kiro sent 2 text frames, the proxy relayed 1 text deltas"
    )
    message = orjson.dumps({"content": [{"type": "text", "text": "Hello"}]})
    assert kiro.compare("m", False, answer, message) is None
    other = orjson.dumps({"choices": [{"message": {"content": "Bye"}}]})
    assert "differs" in (kiro.compare("m", False, answer, other) or "")


def test_a_truncated_answer_is_refused() -> None:
    with pytest.raises(ValueError, match="ends inside a frame"):
        kiro.frames(_kiro_answer("Hello")[:-3])


def test_kiro_loads_call_the_fake_kiro_directly() -> None:
    assert {load.upstream_api for load in LOADS if load.group == "kiro"} == {"kiro"}


def test_micro_benchmark_rows_against_the_converting_target() -> None:
    results = kiro.measure_cpu(text_frames=3, rounds=1, budget_s=0.001)
    assert results["events_per_answer"] == 3 + 5 + 2  # text, tool use (4 fragments + stop), metering, usage
    assert set(results["cases"]) == {key for key, *_ in kiro.CASES}
    rows = report.kiro_cpu_rows(results)
    assert len(rows) == len(kiro.CASES) and all(r.proxy and r.proxy > 0 for r in rows)
    targeted = [r for r in rows if r.target]
    assert len(targeted) == 4 and all(r.target == "<= 80 us" and r.met is not None for r in targeted)
    assert report.kiro_cpu_rows({}) == []
