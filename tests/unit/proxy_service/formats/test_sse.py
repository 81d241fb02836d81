from __future__ import annotations

import pytest

from services.proxy_service.formats import sse
from services.proxy_service.formats.sse import LineTooLong, SseDataReader


def test_payloads_are_handed_over_as_their_lines_complete() -> None:
    reader = SseDataReader()
    assert reader.feed(b'data: {"a":1}\n\nda') == [b'{"a":1}']
    assert reader.feed(b"ta:") == []
    assert reader.feed(b" [DONE]\n") == [b"[DONE]"]


def test_crlf_missing_space_comments_and_other_fields_are_handled() -> None:
    reader = SseDataReader()
    chunk = b': ping\r\nevent: message_start\r\nid: 7\r\ndata:{"x":1}\r\n\r\nretry: 10\n\n'
    assert reader.feed(chunk) == [b'{"x":1}']


def test_events_without_blank_lines_between_them_are_still_separate() -> None:
    assert SseDataReader().feed(b"data: 1\ndata: 2\n") == [b"1", b"2"]


def test_a_last_line_without_newline_is_read_at_the_end() -> None:
    reader = SseDataReader()
    assert reader.feed(b"data: [DO") == []
    assert reader.feed(b"NE]") == []
    assert reader.flush() == [b"[DONE]"]
    assert reader.flush() == []


def test_a_multibyte_character_split_across_reads_stays_intact() -> None:
    raw = 'data: {"t":"你"}\n'.encode()
    reader = SseDataReader()
    payloads = [p for i in range(len(raw)) for p in reader.feed(raw[i : i + 1])]
    assert payloads == ['{"t":"你"}'.encode()]


def test_an_endless_line_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "MAX_LINE_BYTES", 10)
    reader = SseDataReader()
    reader.feed(b"data: 12")
    with pytest.raises(LineTooLong):
        reader.feed(b"345")
