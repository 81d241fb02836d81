"""Anthropic Messages stream events, written from byte templates (no dict building per event).

Every producer of a Claude stream (the OpenAI converter today, Kiro later) writes through these,
so the framing is in one place: `event: <type>\\ndata: <json>\\n\\n`.
"""

from __future__ import annotations

from typing import Any

import orjson

_dumps = orjson.dumps

_BLOCK_DELTA = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,"delta":{"type":'
_TEXT_DELTA = _BLOCK_DELTA + b'"text_delta","text":%b}}\n\n'
_THINKING_DELTA = _BLOCK_DELTA + b'"thinking_delta","thinking":%b}}\n\n'
_SIGNATURE_DELTA = _BLOCK_DELTA + b'"signature_delta","signature":%b}}\n\n'
_JSON_DELTA = _BLOCK_DELTA + b'"input_json_delta","partial_json":%b}}\n\n'
_BLOCK_START = (
    b'event: content_block_start\ndata: {"type":"content_block_start","index":%d,"content_block":%b}\n\n'
)
_TEXT_BLOCK = b'{"type":"text","text":""}'
_THINKING_BLOCK = b'{"type":"thinking","thinking":""}'
_BLOCK_STOP = b'event: content_block_stop\ndata: {"type":"content_block_stop","index":%d}\n\n'
MESSAGE_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def message_start(message_id: str, model: str, usage: dict[str, int]) -> bytes:
    message = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    return b"event: message_start\ndata: " + _dumps({"type": "message_start", "message": message}) + b"\n\n"


def text_start(index: int) -> bytes:
    return _BLOCK_START % (index, _TEXT_BLOCK)


def thinking_start(index: int) -> bytes:
    return _BLOCK_START % (index, _THINKING_BLOCK)


def tool_start(index: int, tool_id: str, name: str) -> bytes:
    block = {"type": "tool_use", "id": tool_id, "name": name, "input": {}}
    return _BLOCK_START % (index, _dumps(block))


def text_delta(index: int, text: str) -> bytes:
    return _TEXT_DELTA % (index, _dumps(text))


def thinking_delta(index: int, text: str) -> bytes:
    return _THINKING_DELTA % (index, _dumps(text))


def signature_delta(index: int, signature: str) -> bytes:
    return _SIGNATURE_DELTA % (index, _dumps(signature))


def json_delta(index: int, partial_json: str) -> bytes:
    return _JSON_DELTA % (index, _dumps(partial_json))


def block_stop(index: int) -> bytes:
    return _BLOCK_STOP % index


def message_delta(stop_reason: str, usage: dict[str, int]) -> bytes:
    event = {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": usage,
    }
    return b"event: message_delta\ndata: " + _dumps(event) + b"\n\n"


def error(error_type: str, message: str) -> bytes:
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
    return b"event: error\ndata: " + _dumps(body) + b"\n\n"
