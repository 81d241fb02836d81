from __future__ import annotations

import orjson

from services.proxy_service.formats.token_counts import SseUsageScanner, usage_from_json

OPENAI_STREAM = (
    b'data: {"id":"c","choices":[{"delta":{"content":"Hi"}}],"usage":null}\n\n'
    b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46}}\n\n'
    b"data: [DONE]\n\n"
)
ANTHROPIC_STREAM = (
    b"event: message_start\n"
    b'data: {"type":"message_start","message":{"id":"m","usage":{"input_tokens":25,"output_tokens":1}}}\n\n'
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n'
    b"event: message_delta\n"
    b'data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}\n\n'
    b"event: message_stop\n"
    b'data: {"type":"message_stop"}\n\n'
)


def scan(*chunks: bytes) -> tuple[int | None, int | None]:
    scanner = SseUsageScanner()
    for chunk in chunks:
        scanner.feed(chunk)
    return scanner.input_tokens, scanner.output_tokens


def test_openai_json_usage() -> None:
    assert usage_from_json({"usage": {"prompt_tokens": 3, "completion_tokens": 7}}) == (3, 7)


def test_anthropic_json_usage() -> None:
    body = {"type": "message", "usage": {"input_tokens": 5, "output_tokens": 9, "cache_read_input_tokens": 2}}
    assert usage_from_json(body) == (5, 9)


def test_json_without_usage_gives_nothing() -> None:
    assert usage_from_json({"id": "x"}) == (None, None)
    assert usage_from_json(None) == (None, None)
    assert usage_from_json([1, 2]) == (None, None)
    assert usage_from_json({"usage": {"prompt_tokens": "many"}}) == (None, None)


def test_openai_stream_usage_from_the_final_chunk() -> None:
    assert scan(OPENAI_STREAM) == (12, 34)


def test_openai_stream_without_include_usage_gives_nothing() -> None:
    assert scan(b'data: {"choices":[{"delta":{"content":"Hi"}}],"usage":null}\n\ndata: [DONE]\n\n') == (
        None,
        None,
    )


def test_anthropic_stream_input_from_message_start_output_from_message_delta() -> None:
    assert scan(ANTHROPIC_STREAM) == (25, 15)


def test_stream_chunked_event_by_event() -> None:
    events = [e + b"\n\n" for e in ANTHROPIC_STREAM.split(b"\n\n") if e]
    assert scan(*events) == (25, 15)


def test_a_usage_line_split_mid_line_across_chunks_is_still_read() -> None:
    cut = OPENAI_STREAM.index(b"completion_tokens") + 5
    assert scan(OPENAI_STREAM[:cut], OPENAI_STREAM[cut:]) == (12, 34)


def test_a_split_inside_the_word_usage_is_still_read() -> None:
    cut = ANTHROPIC_STREAM.index(b'"usage":{"output_tokens":15') + 3
    assert scan(ANTHROPIC_STREAM[:cut], ANTHROPIC_STREAM[cut:]) == (25, 15)


def test_byte_by_byte_feeding_gives_the_same_counts() -> None:
    assert scan(*(ANTHROPIC_STREAM[i : i + 1] for i in range(len(ANTHROPIC_STREAM)))) == (25, 15)


def test_crlf_line_endings_are_tolerated() -> None:
    assert scan(OPENAI_STREAM.replace(b"\n", b"\r\n")) == (12, 34)


def test_garbage_and_truncated_usage_lines_do_not_raise() -> None:
    assert scan(b'data: {"usage":{"prompt_tokens":1\n\n', b'data: not json "usage"\n\n', b"\n") == (
        None,
        None,
    )


def test_an_unfinished_last_line_never_counts_until_completed() -> None:
    scanner = SseUsageScanner()
    scanner.feed(b'data: {"usage":{"prompt_tokens":4,"completion_tokens":2}}')
    assert (scanner.input_tokens, scanner.output_tokens) == (None, None)
    scanner.feed(b"\n\n")
    assert (scanner.input_tokens, scanner.output_tokens) == (4, 2)


def test_a_huge_unfinished_line_is_dropped_rather_than_buffered() -> None:
    scanner = SseUsageScanner()
    scanner.feed(b"data: " + b"x" * 200_000)
    assert len(scanner._carry) == 0
    scanner.feed(b"\n\ndata: " + orjson.dumps({"usage": {"input_tokens": 1, "output_tokens": 2}}) + b"\n\n")
    assert (scanner.input_tokens, scanner.output_tokens) == (1, 2)
