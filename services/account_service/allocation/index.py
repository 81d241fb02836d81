"""Each replica's in-memory index of active accounts, so allocation never touches PostgreSQL.

Loaded at start and kept current by the `account.*` events every replica receives on its own queue.
Everything the proxy needs is precomputed per account, and each owner's pool once per change of the
index, so an allocation builds nothing but its answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.account_service.accounts.schemas import Account
from services.account_service.accounts.service import decrypt_secrets
from services.account_service.allocation import dreamina
from services.account_service.allocation.kinds import upstream_for
from services.account_service.proxies.urls import egress_url
from shared.crypto import SecretBox
from shared.kiro_models import kiro_serves

CHAT = "chat"


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    owner_id: str
    kind: str
    region: str | None
    public: bool
    weight: int
    max_concurrency: int
    format: str
    models: frozenset[str]  # custom_api: the models it serves; empty = any
    expires_at: float | None  # epoch seconds after which the credential is not usable
    account: dict[str, Any]
    upstream: dict[str, Any]

    def serves(self, *, capability: str, model: str | None, formats: Iterable[str] | None) -> bool:
        if formats is not None and self.format not in formats:
            return False
        if self.kind == "dreamina":
            return dreamina.serves(self.region, capability=capability, model=model)
        if capability != CHAT:
            return False
        if self.kind == "kiro":
            return kiro_serves(model)
        return not self.models or model in self.models

    def usable_at(self, now: float) -> bool:
        return self.expires_at is None or self.expires_at > now


def candidate_from(account: Account, box: SecretBox) -> Candidate:
    upstream, expires_at = upstream_for(account, decrypt_secrets(box, account))
    if account.egress_proxy is not None:
        upstream = {
            **upstream,
            "proxy": egress_url(box, account.egress_proxy),
            "egress_proxy_id": str(account.egress_proxy_id),
        }
    return Candidate(
        id=str(account.id),
        owner_id=str(account.owner_id),
        kind=account.kind,
        region=account.region,
        public=account.visibility == "public",
        weight=account.weight,
        max_concurrency=account.max_concurrency,
        format=upstream["format"],
        models=frozenset(account.settings.get("models") or ()),
        expires_at=expires_at,
        account={"id": str(account.id), "kind": account.kind, "name": account.name, "region": account.region},
        upstream=upstream,
    )


class AccountIndex:
    def __init__(self, box: SecretBox) -> None:
        self._box = box
        self._by_id: dict[str, Candidate] = {}
        self._by_owner: dict[str, dict[str, Candidate]] = {}
        self._public: dict[str, Candidate] = {}
        # (owner_id, public_pool) -> that owner's candidates; dropped whenever the index changes.
        self._pools: dict[tuple[str, bool], tuple[Candidate, ...]] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, account_id: str) -> Candidate | None:
        return self._by_id.get(account_id)

    def load(self, accounts: Iterable[Account]) -> None:
        """Become exactly `accounts` (the active ones, read from the database): at start, and again
        after the event connection was lost, since changes made meanwhile were never heard."""
        accounts = list(accounts)
        keep = {str(account.id) for account in accounts}
        for account_id in [a for a in self._by_id if a not in keep]:
            self.remove(account_id)
        for account in accounts:
            self.put(account)

    def put(self, account: Account) -> None:
        """Index an account as it is now: active ones are candidates, any other status is dropped."""
        self.remove(str(account.id))
        if account.status != "active":
            return
        candidate = candidate_from(account, self._box)
        self._pools.clear()
        self._by_id[candidate.id] = candidate
        self._by_owner.setdefault(candidate.owner_id, {})[candidate.id] = candidate
        if candidate.public:
            self._public[candidate.id] = candidate

    def remove(self, account_id: str) -> None:
        old = self._by_id.pop(account_id, None)
        if old is None:
            return
        self._pools.clear()
        self._by_owner.get(old.owner_id, {}).pop(account_id, None)
        self._public.pop(account_id, None)

    def pool(self, *, owner_id: str, public_pool: bool) -> tuple[Candidate, ...]:
        """The owner's active accounts, plus the public ones when `public_pool` (each account once)."""
        pool = self._pools.get((owner_id, public_pool))
        if pool is None:
            own = self._by_owner.get(owner_id, {})
            pool = tuple({**self._public, **own}.values()) if public_pool else tuple(own.values())
            self._pools[(owner_id, public_pool)] = pool
        return pool
