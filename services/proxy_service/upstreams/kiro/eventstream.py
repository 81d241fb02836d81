"""AWS event-stream codec: the binary framing of Kiro's streamed answers.

A frame is a 12-byte prelude (total length, headers length, CRC32 of the first 8 bytes), the headers,
the payload and a CRC32 of everything before it, all big-endian. Pure and I/O-free: the caller feeds
bytes as they arrive and gets whole messages back.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar

MIN_MESSAGE_LENGTH = 16
MAX_MESSAGE_LENGTH = 16 * 1024 * 1024
_PRELUDE_LENGTH = 12
_MAX_VALUE_LENGTH = 0xFFFF

_PRELUDE = struct.Struct(">III")
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
_I64 = struct.Struct(">q")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)

_TRUE, _FALSE, _BYTE, _SHORT, _INT, _LONG, _BYTES, _STRING, _TIMESTAMP, _UUID = range(10)


class EventStreamError(ValueError):
    """The byte stream is not valid event-stream framing (bad CRC, length or header)."""


@dataclass(frozen=True, slots=True)
class _FixedInt:
    """A signed integer header of one explicit width; plain `int` is refused to keep the width visible."""

    value: int
    TYPE: ClassVar[int]
    FORMAT: ClassVar[struct.Struct]

    def __post_init__(self) -> None:
        bits = self.FORMAT.size * 8
        if not -(1 << (bits - 1)) <= self.value < 1 << (bits - 1):
            raise ValueError(f"{self.value} does not fit in a signed {bits}-bit {type(self).__name__}")


class Byte(_FixedInt):
    __slots__ = ()
    TYPE, FORMAT = _BYTE, struct.Struct(">b")


class Short(_FixedInt):
    __slots__ = ()
    TYPE, FORMAT = _SHORT, struct.Struct(">h")


class Int(_FixedInt):
    __slots__ = ()
    TYPE, FORMAT = _INT, struct.Struct(">i")


class Long(_FixedInt):
    __slots__ = ()
    TYPE, FORMAT = _LONG, struct.Struct(">q")


HeaderValue = bool | Byte | Short | Int | Long | bytes | str | datetime | uuid.UUID
_FIXED_BY_TYPE: dict[int, type[_FixedInt]] = {cls.TYPE: cls for cls in (Byte, Short, Int, Long)}


@dataclass(frozen=True, slots=True)
class Message:
    headers: dict[str, HeaderValue] = field(default_factory=dict)
    payload: bytes = b""

    def _text(self, name: str) -> str | None:
        value = self.headers.get(name)
        return value if isinstance(value, str) else None

    @property
    def message_type(self) -> str | None:
        return self._text(":message-type")

    @property
    def event_type(self) -> str | None:
        return self._text(":event-type")

    @property
    def exception_type(self) -> str | None:
        return self._text(":exception-type")

    @property
    def error_code(self) -> str | None:
        return self._text(":error-code")


def _encode_value(value: HeaderValue) -> bytes:
    if isinstance(value, bool):  # before any int check: bool is an int subclass
        return bytes((_TRUE if value else _FALSE,))
    if isinstance(value, _FixedInt):
        return bytes((value.TYPE,)) + value.FORMAT.pack(value.value)
    if isinstance(value, str | bytes):
        raw = value.encode() if isinstance(value, str) else value
        if len(raw) > _MAX_VALUE_LENGTH:
            raise ValueError(f"header value of {len(raw)} bytes exceeds {_MAX_VALUE_LENGTH}")
        kind = _STRING if isinstance(value, str) else _BYTES
        return bytes((kind,)) + _U16.pack(len(raw)) + raw
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamp header needs a timezone-aware datetime")
        # Floor division keeps the integer exact; sub-millisecond precision is dropped by the format.
        return bytes((_TIMESTAMP,)) + _I64.pack((value - _EPOCH) // _MILLISECOND)
    if isinstance(value, uuid.UUID):
        return bytes((_UUID,)) + value.bytes
    raise TypeError(f"unsupported header value type {type(value).__name__}")


def encode_message(headers: dict[str, HeaderValue], payload: bytes) -> bytes:
    parts = []
    for name, value in headers.items():
        raw_name = name.encode()
        if not 1 <= len(raw_name) <= 255:
            raise ValueError(f"header name must be 1-255 bytes, got {len(raw_name)}")
        parts += (bytes((len(raw_name),)), raw_name, _encode_value(value))
    encoded_headers = b"".join(parts)
    total = _PRELUDE_LENGTH + len(encoded_headers) + len(payload) + 4
    if total > MAX_MESSAGE_LENGTH:
        raise ValueError(f"message of {total} bytes exceeds {MAX_MESSAGE_LENGTH}")
    lengths = _U32.pack(total) + _U32.pack(len(encoded_headers))
    prelude = lengths + _U32.pack(zlib.crc32(lengths))
    body = prelude + encoded_headers + payload
    return body + _U32.pack(zlib.crc32(body))


def _parse_headers(view: memoryview, pos: int, end: int) -> dict[str, HeaderValue]:
    headers: dict[str, HeaderValue] = {}
    try:
        while pos < end:
            name_end = pos + 1 + view[pos]
            if view[pos] == 0 or name_end >= end:
                raise EventStreamError("header name is empty or runs past the headers block")
            name = bytes(view[pos + 1 : name_end]).decode()
            kind, pos = view[name_end], name_end + 1
            value: HeaderValue
            if kind == _TRUE or kind == _FALSE:
                value = kind == _TRUE
            elif kind in _FIXED_BY_TYPE:
                cls = _FIXED_BY_TYPE[kind]
                if pos + cls.FORMAT.size > end:
                    raise EventStreamError(f"header {name!r} runs past the headers block")
                value = cls(cls.FORMAT.unpack_from(view, pos)[0])
                pos += cls.FORMAT.size
            elif kind == _BYTES or kind == _STRING:
                if pos + 2 > end or pos + 2 + (size := _U16.unpack_from(view, pos)[0]) > end:
                    raise EventStreamError(f"header {name!r} runs past the headers block")
                raw = bytes(view[pos + 2 : pos + 2 + size])
                value = raw.decode() if kind == _STRING else raw
                pos += 2 + size
            elif kind == _TIMESTAMP or kind == _UUID:
                size = 8 if kind == _TIMESTAMP else 16
                if pos + size > end:
                    raise EventStreamError(f"header {name!r} runs past the headers block")
                if kind == _TIMESTAMP:
                    value = _EPOCH + _I64.unpack_from(view, pos)[0] * _MILLISECOND
                else:
                    value = uuid.UUID(bytes=bytes(view[pos : pos + 16]))
                pos += size
            else:
                raise EventStreamError(f"header {name!r} has unknown value type {kind}")
            headers[name] = value
    except UnicodeDecodeError as exc:
        raise EventStreamError("header name or string is not UTF-8") from exc
    except OverflowError as exc:
        raise EventStreamError("timestamp header out of range") from exc
    return headers


class EventStreamDecoder:
    """Turns arbitrary slices of a byte stream into messages.

    After an `EventStreamError` the stream has lost its framing (lengths can no longer be trusted to
    find the next frame), so every later `feed` fails too. Messages completed in the same `feed` call
    before the bad frame are not returned.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._failure: EventStreamError | None = None

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame held back; non-zero at end of stream means a truncated frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Message]:
        if self._failure is not None:
            raise EventStreamError(f"stream already failed: {self._failure}")
        buffer = self._buffer
        buffer += data
        messages: list[Message] = []
        offset, size = 0, len(buffer)
        try:
            with memoryview(buffer) as view:
                while size - offset >= _PRELUDE_LENGTH:
                    total, headers_length, prelude_crc = _PRELUDE.unpack_from(view, offset)
                    # The prelude CRC is checked before the lengths are believed, so a corrupted length is
                    # reported at once instead of making the decoder wait for bytes that never come.
                    if zlib.crc32(view[offset : offset + 8]) != prelude_crc:
                        raise EventStreamError("prelude CRC mismatch")
                    if not MIN_MESSAGE_LENGTH <= total <= MAX_MESSAGE_LENGTH:
                        raise EventStreamError(f"message length {total} out of range")
                    if headers_length > total - MIN_MESSAGE_LENGTH:
                        raise EventStreamError(f"headers length {headers_length} exceeds message {total}")
                    if size - offset < total:
                        break
                    end = offset + total
                    crc = zlib.crc32(view[offset + 8 : end - 4], prelude_crc)
                    if crc != _U32.unpack_from(view, end - 4)[0]:
                        raise EventStreamError("message CRC mismatch")
                    headers_end = offset + _PRELUDE_LENGTH + headers_length
                    headers = _parse_headers(view, offset + _PRELUDE_LENGTH, headers_end)
                    messages.append(Message(headers, bytes(view[headers_end : end - 4])))
                    offset = end
        except EventStreamError as exc:
            self._failure = exc
            # A fresh buffer rather than clear(): the traceback may still hold slices of the old one.
            self._buffer = bytearray()
            raise
        del buffer[:offset]
        return messages
