"""AWS event-stream frames as the Kiro chat host sends them, and how the fake cuts them into writes.

The fake's own encoder, deliberately independent of the proxy's codec
(services/proxy_service/upstreams/kiro/eventstream.py): a shared bug would otherwise go unnoticed.
A frame is a prelude (total length, headers length, CRC32 of those 8 bytes), the headers, the payload
and a CRC32 of everything before it; integers are big-endian, CRC32 is zlib's.
"""

from __future__ import annotations

import functools
import itertools
import random
import struct
import zlib

_LENGTHS = struct.Struct(">II")
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
_STRING = 7  # header value type: 2-byte length + UTF-8
_PRELUDE = 12
_CRC = 4


def header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return bytes((len(raw_name),)) + raw_name + bytes((_STRING,)) + _U16.pack(len(raw_value)) + raw_value


def frame(headers: bytes, payload: bytes) -> bytes:
    lengths = _LENGTHS.pack(_PRELUDE + len(headers) + len(payload) + _CRC, len(headers))
    body = lengths + _U32.pack(zlib.crc32(lengths)) + headers + payload
    return body + _U32.pack(zlib.crc32(body))


@functools.cache
def _event_headers(event_type: str) -> bytes:
    return (
        header(":event-type", event_type)
        + header(":content-type", "application/json")
        + header(":message-type", "event")
    )


def event(event_type: str, payload: bytes) -> bytes:
    return frame(_event_headers(event_type), payload)


def exception(exception_type: str, payload: bytes) -> bytes:
    headers = (
        header(":exception-type", exception_type)
        + header(":content-type", "application/json")
        + header(":message-type", "exception")
    )
    return frame(headers, payload)


def flip_payload_byte(data: bytes) -> bytes:
    """The frame with the last payload byte flipped: the prelude still checks out, the message CRC fails."""
    spoiled = bytearray(data)
    spoiled[-_CRC - 1] ^= 0x01
    return bytes(spoiled)


def slices(frames: list[bytes], slice_bytes: int, rng: random.Random) -> list[bytes]:
    """The pieces the body is written in.

    -1: one write per frame. A positive value: fixed-size pieces of the whole body. 0: one random cut
    strictly inside every frame, so each piece but the first and the last holds the end of one frame
    and the start of the next (cuts may fall in a prelude, the headers or the payload).
    """
    if slice_bytes < 0:
        return frames
    body = b"".join(frames)
    if slice_bytes > 0:
        return [body[i : i + slice_bytes] for i in range(0, len(body), slice_bytes)]
    bounds, start = [0], 0
    for data in frames:
        bounds.append(start + rng.randrange(1, len(data)))
        start += len(data)
    bounds.append(len(body))
    return [body[a:b] for a, b in itertools.pairwise(bounds)]
