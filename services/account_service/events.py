"""What this replica does with the events it hears: keep its in-memory views current."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.account_service.accounts import repository as accounts
from services.account_service.allocation.index import AccountIndex
from services.account_service.allocation.picker import Picks
from services.account_service.keys.store import KeyStore
from shared.logging import get_logger
from shared.messages import Envelope
from shared.messages.contracts import AccountUpdated, ApiKeyChanged, UserChanged

log = get_logger(__name__)

REPLICA_BINDINGS = ["account.*", "api_key.*", "user.*"]


class ReplicaViews:
    def __init__(self, *, pool: asyncpg.Pool, index: AccountIndex, keys: KeyStore, picker: Picks) -> None:
        self._pool = pool
        self._index = index
        self._keys = keys
        self._picker = picker

    async def load(self) -> None:
        """Read every view from the database: at start (after subscribing, so no change made in
        between is missed) and after the event connection came back (what was published while this
        replica's queue did not exist never reached it)."""
        self._index.load(await accounts.list_active(self._pool))
        await self._keys.load()
        log.info("account_service.views_loaded", accounts=len(self._index), keys=len(self._keys))

    async def handle(self, envelope: Envelope) -> None:
        event = envelope.event()
        if isinstance(event, ApiKeyChanged):
            await self._keys.reload(key_id=UUID(event.key_id))
        elif isinstance(event, UserChanged):
            await self._keys.reload(user_id=UUID(event.user_id))
        elif account_id := getattr(event, "account_id", None):
            # Reload rather than trust the event: messages carry ids, the database holds the truth.
            account = await accounts.get(self._pool, account_id=UUID(account_id))
            if account is None:
                self._index.remove(account_id)
            else:
                self._index.put(account)
                if isinstance(event, AccountUpdated) and "access_token" in event.fields:
                    # The renewed token is in the index now: the cooldown a refused one earned
                    # (usage/outcomes.py) would only keep a working account idle.
                    await self._picker.end_cooldown(account_id)
