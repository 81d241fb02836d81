"""A replica's cache of API key identities, so allocation does not query PostgreSQL per call.

Entries expire on their own (unknown keys sooner, so a fresh key works at once on every replica)
and are dropped early by `api_key.changed` / `user.changed` events.
"""

from __future__ import annotations

import time
from uuid import UUID

import asyncpg

from services.account_service.keys import repository
from services.account_service.keys.hashing import key_hash
from services.account_service.keys.schemas import KeyIdentity


class KeyCache:
    def __init__(self, pool: asyncpg.Pool, *, ttl_s: float = 60.0, negative_ttl_s: float = 2.0) -> None:
        self._pool = pool
        self._ttl = ttl_s
        self._negative_ttl = negative_ttl_s
        self._entries: dict[bytes, tuple[KeyIdentity | None, float]] = {}

    async def identify(self, key: str) -> KeyIdentity | None:
        digest = key_hash(key)
        hit = self._entries.get(digest)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        identity = await repository.identity_by_hash(self._pool, key_hash=digest)
        self._entries[digest] = (identity, now + (self._ttl if identity else self._negative_ttl))
        return identity

    def forget(self, *, key_id: UUID | None = None, user_id: UUID | None = None) -> None:
        for digest, (identity, _) in list(self._entries.items()):
            if identity is not None and (identity.id == key_id or identity.user_id == user_id):
                del self._entries[digest]
