from __future__ import annotations

import struct
import uuid
import zlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.proxy_service.upstreams.kiro.eventstream import (
    Byte,
    EventStreamDecoder,
    EventStreamError,
    HeaderValue,
    Int,
    Long,
    Message,
    Short,
    encode_message,
)


def _hand_built_frame() -> bytes:
    name = b":event-type"
    value = b"assistantResponseEvent"
    headers = bytes([len(name)]) + name + bytes([7]) + struct.pack(">H", len(value)) + value
    payload = b'{"content":"hi"}'
    total = 12 + len(headers) + len(payload) + 4
    lengths = struct.pack(">II", total, len(headers))
    body = lengths + struct.pack(">I", zlib.crc32(lengths)) + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def test_decodes_a_frame_built_by_hand_from_the_spec() -> None:
    frame = _hand_built_frame()

    [message] = EventStreamDecoder().feed(frame)

    assert message.headers == {":event-type": "assistantResponseEvent"}
    assert message.payload == b'{"content":"hi"}'
    assert message.event_type == "assistantResponseEvent"
    assert encode_message(message.headers, message.payload) == frame


def test_crc32_is_the_iso_hdlc_variant_aws_uses() -> None:
    assert zlib.crc32(b"123456789") == 0xCBF43926


def test_every_header_type_round_trips() -> None:
    headers: dict[str, HeaderValue] = {
        "true": True,
        "false": False,
        "byte": Byte(-128),
        "short": Short(32767),
        "int": Int(-(2**31)),
        "long": Long(2**63 - 1),
        "bytes": b"\x00\xff",
        "string": "héllo",
        "timestamp": datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    }

    [message] = EventStreamDecoder().feed(encode_message(headers, b"payload"))

    assert message == Message(headers, b"payload")


def test_convenience_properties_read_the_colon_headers() -> None:
    headers: dict[str, HeaderValue] = {
        ":message-type": "exception",
        ":exception-type": "ThrottlingException",
        ":error-code": "E1",
    }

    [message] = EventStreamDecoder().feed(encode_message(headers, b""))

    assert (message.message_type, message.exception_type, message.error_code) == (
        "exception",
        "ThrottlingException",
        "E1",
    )
    assert message.event_type is None


def test_timestamp_keeps_the_instant_across_timezones() -> None:
    moment = datetime(2025, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=8)))

    [message] = EventStreamDecoder().feed(encode_message({"at": moment}, b""))

    assert message.headers["at"] == moment


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"n": 5}, TypeError),
        ({"": "x"}, ValueError),
        ({"x" * 256: "x"}, ValueError),
        ({"at": datetime(2025, 1, 1)}, ValueError),
    ],
)
def test_encoding_refuses_values_the_format_cannot_carry(headers: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        encode_message(headers, b"")


@pytest.mark.parametrize(
    "make", [lambda: Byte(128), lambda: Short(-(2**15) - 1), lambda: Int(2**31), lambda: Long(2**63)]
)
def test_sized_integers_refuse_values_outside_their_width(make) -> None:
    with pytest.raises(ValueError):
        make()


def test_a_partial_frame_waits_and_is_reported_as_buffered() -> None:
    decoder = EventStreamDecoder()
    frame = _hand_built_frame()

    assert decoder.feed(frame[:-1]) == []
    assert decoder.buffered == len(frame) - 1
    assert len(decoder.feed(frame[-1:])) == 1
    assert decoder.buffered == 0


def _reframe(total: int, headers_length: int, rest: bytes) -> bytes:
    """A frame whose lengths are wrong but whose CRCs are valid, to reach the length checks."""
    lengths = struct.pack(">II", total, headers_length)
    body = lengths + struct.pack(">I", zlib.crc32(lengths)) + rest
    return body + struct.pack(">I", zlib.crc32(body))


@pytest.mark.parametrize(
    "frame",
    [
        _reframe(15, 0, b""),
        _reframe(16 * 1024 * 1024 + 1, 0, b""),
        _reframe(16, 1, b""),
        _reframe(19, 3, b"\x01a\x0b"),  # unknown header value type 11
        _reframe(20, 4, b"\x01a\x07\x00"),  # string length runs past the headers block
        _reframe(21, 5, b"\x01a\x07\x00\x01"),  # string length 1, no byte for it
        _reframe(18, 2, b"\x00\x00"),  # empty header name
        _reframe(22, 6, b"\x01a\x07\x00\x01\xff"),  # string that is not UTF-8
    ],
)
def test_malformed_frames_raise(frame: bytes) -> None:
    with pytest.raises(EventStreamError):
        EventStreamDecoder().feed(frame + b"\x00" * 64)


def test_a_failed_decoder_keeps_failing() -> None:
    decoder = EventStreamDecoder()
    with pytest.raises(EventStreamError):
        decoder.feed(b"\x00" * 16)

    with pytest.raises(EventStreamError):
        decoder.feed(_hand_built_frame())


_fixed_ints = st.one_of(
    st.integers(-(2**7), 2**7 - 1).map(Byte),
    st.integers(-(2**15), 2**15 - 1).map(Short),
    st.integers(-(2**31), 2**31 - 1).map(Int),
    st.integers(-(2**63), 2**63 - 1).map(Long),
)
# The format stores whole milliseconds, so only such instants can round-trip exactly.
_timestamps = st.integers(-(2**40), 2**40).map(
    lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + ms * timedelta(milliseconds=1)
)
_header_values = st.one_of(
    st.booleans(),
    _fixed_ints,
    st.binary(max_size=64),
    st.text(max_size=32),
    _timestamps,
    st.uuids(),
)
_header_names = st.text(min_size=1, max_size=20).filter(lambda name: len(name.encode()) <= 255)
_messages = st.builds(
    Message,
    headers=st.dictionaries(_header_names, _header_values, max_size=6),
    payload=st.binary(max_size=200),
)


@settings(max_examples=150, deadline=None)
@given(messages=st.lists(_messages, max_size=6), data=st.data())
def test_messages_cut_at_any_byte_boundaries_decode_in_order(
    messages: list[Message], data: st.DataObject
) -> None:
    stream = b"".join(encode_message(m.headers, m.payload) for m in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    decoder = EventStreamDecoder()

    decoded = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        decoded += decoder.feed(stream[start:end])

    assert decoded == messages
    assert decoder.buffered == 0


@settings(max_examples=300, deadline=None)
@given(message=_messages, data=st.data())
def test_any_single_byte_flip_is_rejected(message: Message, data: st.DataObject) -> None:
    frame = bytearray(encode_message(message.headers, message.payload))
    position = data.draw(st.integers(0, len(frame) - 1))
    frame[position] ^= data.draw(st.integers(1, 255))

    # The strong claim, with no extra bytes fed: the corrupted frame alone always raises. A flip in the
    # first 12 bytes (either length or the prelude CRC) is caught by the prelude CRC, which the decoder
    # checks before trusting the lengths, so it never sits waiting for more data; a flip anywhere after
    # is caught by the message CRC. CRC32 detects every error burst of 32 bits or fewer, so a one-byte
    # change can never go unnoticed.
    with pytest.raises(EventStreamError):
        EventStreamDecoder().feed(bytes(frame))
