"""A prompt cache per upstream account, as the fakes report it: a request whose prefix the same
account (upstream key) has seen before reads that prefix from the cache.

A prefix is the system prompt and tools plus the messages up to some point, never the last message
(the one a turn adds), and at least the first message: a shared system prompt alone does not hit,
so what the fakes measure is a conversation's own cache, the one sticky sessions are for. Each
request stores every prefix of its own (including its whole message list), so the next turn of the
conversation (its messages plus the answer plus a new question) reads all of it back. The
`cache_control` marks are left out of the match, as the real cache does.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from tests.fakes._content import estimate_tokens, text_chars

_LIMIT = 50_000  # prefixes remembered per fake, oldest forgotten first


@dataclass(frozen=True, slots=True)
class CacheUse:
    read: int  # tokens of the longest prefix seen before on this account
    written: int  # tokens of the cacheable prefix beyond that, stored now
    total: int  # tokens of the whole prompt


class PromptCache:
    def __init__(self) -> None:
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def clear(self) -> None:
        self._seen.clear()

    def use(self, account: str, head: Any, messages: list[Any]) -> CacheUse:
        """Look this request's prefixes up for `account` and store them; `head`: what precedes
        the messages (system prompt, tools)."""
        running = hashlib.blake2b(account.encode() + b"\0" + orjson.dumps(_unmarked(head)), digest_size=16)
        chars = text_chars(head)
        prefixes: list[tuple[bytes, int]] = []  # (digest, chars) through message i
        for message in messages:
            running.update(orjson.dumps(_unmarked(message)))
            chars += text_chars(message)
            prefixes.append((running.copy().digest(), chars))
        read_chars = 0
        for digest, through in prefixes[:-1]:
            if digest in self._seen:
                read_chars = through
        for digest, _ in prefixes:
            self._seen[digest] = None
            self._seen.move_to_end(digest)
        while len(self._seen) > _LIMIT:
            self._seen.popitem(last=False)
        cacheable = prefixes[-2][1] if len(prefixes) > 1 else 0
        read = estimate_tokens(read_chars) if read_chars else 0
        written = max(0, estimate_tokens(cacheable) - read) if cacheable > read_chars else 0
        return CacheUse(read, written, estimate_tokens(chars))


def _unmarked(obj: Any) -> Any:
    """`obj` without its `cache_control` marks: a client moves its breakpoint to the newest message on
    each turn, and the cache matches the content, not the marks."""
    if isinstance(obj, list):
        return [_unmarked(item) for item in obj]
    if isinstance(obj, dict):
        return {k: _unmarked(v) for k, v in obj.items() if k != "cache_control"}
    return obj
