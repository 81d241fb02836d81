"""Every API key's identity, held in memory by each replica, so that authenticating a call needs
neither PostgreSQL nor a round trip: a key works during a database outage even if it was never used
before it.

Loaded at start (and again after the event connection was lost); `api_key.changed` and `user.changed`
reload the keys they name. A key not found is looked up in the database at most once per
`miss_ttl_s` per key (one created a moment ago whose event has not arrived yet); if the database is
unreachable then, the answer is 503 rather than a false 401.
"""

from __future__ import annotations

import time
from uuid import UUID

import asyncpg

from services.account_service.keys import repository
from services.account_service.keys.hashing import key_hash
from services.account_service.keys.schemas import KeyIdentity
from shared.errors import DependencyUnavailable
from shared.outages import is_unavailable

_MAX_MISSES = 10_000  # remembered unknown keys (a scan of random keys must not grow memory)


class KeyStore:
    def __init__(self, pool: asyncpg.Pool, *, miss_ttl_s: float = 2.0) -> None:
        self._pool = pool
        self._miss_ttl = miss_ttl_s
        self._by_hash: dict[bytes, KeyIdentity] = {}
        self._hash_of: dict[UUID, bytes] = {}
        self._misses: dict[bytes, float] = {}

    def __len__(self) -> int:
        return len(self._by_hash)

    async def load(self) -> None:
        found = await repository.identities(self._pool)
        self._by_hash = dict(found)
        self._hash_of = {identity.id: digest for digest, identity in found}
        self._misses.clear()

    async def identify(self, key: str) -> KeyIdentity | None:
        digest = key_hash(key)
        identity = self._by_hash.get(digest)
        if identity is not None:
            return identity
        now = time.monotonic()
        if self._misses.get(digest, 0.0) > now:
            return None
        try:
            identity = await repository.identity_by_hash(self._pool, key_hash=digest)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            raise DependencyUnavailable(
                "this API key is not known to this replica and the database cannot be reached to check it",
                retry_after=5,
            ) from exc
        if identity is None:
            if len(self._misses) >= _MAX_MISSES:
                self._misses.clear()
            self._misses[digest] = now + self._miss_ttl
            return None
        self._put(digest, identity)
        return identity

    def by_id(self, key_id: UUID) -> KeyIdentity | None:
        """A key known to this replica, by its id (the usage consumer's view of its limits)."""
        digest = self._hash_of.get(key_id)
        return self._by_hash.get(digest) if digest is not None else None

    async def reload(self, *, key_id: UUID | None = None, user_id: UUID | None = None) -> None:
        """Read one key, or one user's keys, again (changed, disabled or deleted)."""
        found = await repository.identities(self._pool, key_id=key_id, user_id=user_id)
        stale = [
            kid
            for kid, digest in self._hash_of.items()
            if kid == key_id or self._by_hash[digest].user_id == user_id
        ]
        for kid in stale:
            self._by_hash.pop(self._hash_of.pop(kid), None)
        for digest, identity in found:
            self._put(digest, identity)

    def _put(self, digest: bytes, identity: KeyIdentity) -> None:
        self._by_hash[digest] = identity
        self._hash_of[identity.id] = digest
        self._misses.pop(digest, None)
