"""PoolGate API keys: 256 random bits, stored only as a SHA-256 hash.

A fast hash is right here (unlike for passwords): the key is random and long, so there is nothing to
brute-force, and allocation looks a key up on every call.
"""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "pg-"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def display_prefix(key: str) -> str:
    return key[:10]
