"""A cheap, deterministic estimate of Claude token counts: no tokenizer file, no network.

Used where an upstream reports no usage (Kiro) and for `POST /v1/messages/count_tokens`.

Method. BPE tokenizers emit about one token per "piece" of text, so the estimate counts pieces:
each run of letters, digits or punctuation starts one, and long runs add one per chunk (9 letters,
4 digits, 5 punctuation marks: a common word is one token, a long identifier several); a
lower-to-upper case change inside a word (camelCase) starts one; each line break (with its
indentation) is one; each CJK ideograph, kana, hangul syllable, Indic or Thai letter and emoji is
one; other non-ASCII letters (accented Latin, Greek, Cyrillic, ...) count one per run plus one per 4.
Whitespace between pieces is free, as BPE merges it into the next piece. The count is floored at
characters / 6 (a character / 4 floor over-counts English prose with long words by up to 26%).

Everything runs at C speed, with no per-piece Python loop: the UTF-8 bytes are mapped to
one-bit-per-class bytes with `bytes.translate`, run starts are counted as the set bits of
`x & (x ^ x << 8)` over the whole text as one integer (`int.bit_count`), and chunks and case
changes with `bytes.count`. About 90 µs for 10 KB of ASCII text, 60 µs for 7 KB of Chinese.

Accuracy, against the public Claude BPE tokenizer (65k vocabulary) on 2 KB samples: mean absolute
error 4.9% over 540 samples of English prose, Python, C, JavaScript and JSON, 99.8% of them within
±25% (the one outlier is ROT13 text); Chinese and Japanese mean -2%, per sample -26%..+15%.
Summed per kind it counts 4-23% more than OpenAI's cl100k on English and code (C and JavaScript
most), as that Claude tokenizer does. Newer Claude models' tokenizers are not public; expect them
to count somewhat more than this estimate.
Requests add fixed costs for images, documents and per-message framing.
"""

from __future__ import annotations

import string
from typing import Any

import orjson

# Each character's class, one bit each, so that a run start is one set bit (see below); 0 = none.
_LETTER, _DIGIT, _PUNCT, _OTHER = 1, 2, 4, 8
_CLASS = bytearray(256)
for _c in string.ascii_letters.encode():
    _CLASS[_c] = _LETTER
for _c in string.digits.encode():
    _CLASS[_c] = _DIGIT
for _c in string.punctuation.encode():
    _CLASS[_c] = _PUNCT
_CLASS[0xE2] = _PUNCT  # U+2000-U+2FFF: typographic quotes, dashes, arrows, symbols
for _c in range(0xC2, 0xE0):  # U+0080-U+07FF: accented Latin, Greek, Cyrillic, Hebrew, Arabic
    _CLASS[_c] = _OTHER
_CLASSES = bytes(_CLASS)
# A run of n characters of a class counts 1 + n // chunk: a word of up to 8 letters is one token.
_CHUNKS = (bytes([_LETTER]) * 9, bytes([_DIGIT]) * 4, bytes([_PUNCT]) * 5)
_OTHER_CHUNK = bytes([_OTHER]) * 4
# camelCase: a lower-case letter followed by an upper-case one starts another piece.
_CASE = bytearray(b" " * 256)
for _c in string.ascii_lowercase.encode():
    _CASE[_c] = ord("a")
for _c in string.ascii_uppercase.encode():
    _CASE[_c] = ord("A")
_CASES = bytes(_CASE)
_CONTINUATION = bytes(range(0x80, 0xC0))
# Lead bytes of 3- and 4-byte UTF-8 characters counted one token each: CJK, kana, hangul,
# fullwidth forms, Indic and Thai scripts, emoji.
_WIDE = bytes(range(0xE0, 0xE2)) + bytes(range(0xE3, 0xF5))

IMAGE_TOKENS = 1600  # Anthropic: about width * height / 750, and images are resized to ~1.15 MP
DOCUMENT_TOKENS = 1600  # a PDF or other document whose text is not in the request
MESSAGE_OVERHEAD = 4  # role and turn markers per message
TOOL_OVERHEAD = 8  # the framing of one tool definition
BLOCK_OVERHEAD = 3  # a tool_use or tool_result block's own markers
REQUEST_OVERHEAD = 3
_MAX_DEPTH = 8  # nested tool_result content deeper than this is not counted


def estimate_text_tokens(text: str) -> int:
    """Estimated Claude tokens in `text`; 0 for empty text."""
    if not text:
        return 0
    raw = text.encode("utf-8", "surrogatepass")
    count = raw.count(b"\n")
    ascii_only = text.isascii()
    if not ascii_only:
        raw = raw.translate(None, _CONTINUATION)  # now one byte per character
        count += len(raw) - len(raw.translate(None, _WIDE))
    classes = raw.translate(_CLASSES)
    if not ascii_only:
        count += classes.count(_OTHER_CHUNK)
    # Little-endian, byte i of `runs << 8` is character i-1: a byte keeps its bit only where its
    # class differs from the previous character's, i.e. where a run starts.
    runs = int.from_bytes(classes, "little")
    count += ((runs ^ (runs << 8)) & runs).bit_count()
    for chunk in _CHUNKS:
        count += classes.count(chunk)
    count += raw.translate(_CASES).count(b"aA")
    return max(count, len(text) // 6)


def estimate_request_tokens(body: dict) -> int:
    """Estimated input tokens of an Anthropic Messages request body. Never raises on odd input."""
    if not isinstance(body, dict):
        return 0
    total = REQUEST_OVERHEAD + _content_tokens(body.get("system"), 0)
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            total += MESSAGE_OVERHEAD
            if isinstance(message, dict):
                total += _content_tokens(message.get("content"), 0)
    tools = body.get("tools")
    if isinstance(tools, list):
        for tool in tools:
            if isinstance(tool, dict):
                total += TOOL_OVERHEAD + _text(tool.get("name")) + _text(tool.get("description"))
                total += _json_tokens(tool.get("input_schema"))
    return total


def _content_tokens(content: Any, depth: int) -> int:
    if isinstance(content, str):
        return estimate_text_tokens(content)
    if isinstance(content, list) and depth < _MAX_DEPTH:
        return sum(_block_tokens(block, depth + 1) for block in content)
    return 0


def _block_tokens(block: Any, depth: int) -> int:
    if not isinstance(block, dict):
        return _text(block)
    kind = block.get("type")
    if kind == "text":
        return _text(block.get("text"))
    if kind == "image":
        return IMAGE_TOKENS
    if kind == "tool_use":
        return BLOCK_OVERHEAD + _text(block.get("name")) + _json_tokens(block.get("input"))
    if kind == "tool_result":
        return BLOCK_OVERHEAD + _content_tokens(block.get("content"), depth)
    if kind == "thinking":
        return _text(block.get("thinking"))
    if kind == "redacted_thinking":
        return 0  # encrypted: not visible to the model as text, and its size says little
    if kind == "document":
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "text":
            return _text(source.get("data"))
        return DOCUMENT_TOKENS
    # A block type this estimator does not know (search results, server tool results, ...):
    # whatever it carries, as JSON.
    return _json_tokens(block)


def _text(value: Any) -> int:
    return estimate_text_tokens(value) if isinstance(value, str) else 0


def _json_tokens(value: Any) -> int:
    if value is None:
        return 0
    try:
        return estimate_text_tokens(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode())
    except TypeError:  # also orjson.JSONEncodeError: odd types, huge ints, deep nesting
        return 0
