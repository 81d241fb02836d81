"""An error event an upstream sends after its SSE stream started is noticed (Anthropic's and
OpenAI's shapes, split over chunks), and text that merely mentions errors is not."""

from __future__ import annotations

import orjson

from services.proxy_service.relay.stream_errors import StreamErrorWatch

ANTHROPIC = (
    b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
)
OPENAI = b'data: {"error":{"message":"account suspended","type":"invalid_request_error"}}\n\n'
TEXT = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta",'
    b'"delta":{"text":"an \\"error\\": here"}}\n\n'
)


def watch(*chunks: bytes) -> bytes | None:
    w = StreamErrorWatch()
    for chunk in chunks:
        w.feed(chunk)
    w.end()
    return w.found


def test_an_anthropic_error_event_is_found() -> None:
    found = watch(TEXT, ANTHROPIC)
    assert found is not None and orjson.loads(found)["error"]["type"] == "overloaded_error"


def test_an_openai_error_chunk_is_found() -> None:
    found = watch(b'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n', OPENAI)
    assert found is not None and b"account suspended" in found


def test_an_event_split_over_chunks_is_put_together() -> None:
    for at in (5, 20, len(ANTHROPIC) - 3):
        found = watch(TEXT, ANTHROPIC[:at], ANTHROPIC[at:])
        assert found is not None and b"Overloaded" in found, at


def test_an_error_event_without_its_closing_blank_line_is_read_at_the_end() -> None:
    found = watch(TEXT, OPENAI.rstrip())
    assert found is not None and b"account suspended" in found


def test_text_mentioning_errors_is_not_an_error_event() -> None:
    assert watch(TEXT, TEXT, b'data: {"type":"message_stop"}\n\n') is None
