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
from services.account_service.allocation import dreamina, quota
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
    # The weight its quota leaves it, scaled (allocation/quota.py), until `quota_until` (epoch seconds
    # of the reset; None: no reset known), after which the reading says nothing and `weight` applies.
    quota_weight: int = 0
    quota_until: float | None = None
    quota_spared: bool = False  # projected to run out before its reset: drawn after the others

    def pick_weight(self, now: float) -> int:
        """What the pick script draws by (weights are scaled by `quota.SCALE`)."""
        if self.quota_until is None or now < self.quota_until:
            return self.quota_weight
        return self.weight * quota.SCALE

    def spared(self, now: float) -> bool:
        return self.quota_spared and (self.quota_until is None or now < self.quota_until)

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


def candidate_from(account: Account, box: SecretBox, *, quota_routing: bool = True) -> Candidate:
    upstream, expires_at = upstream_for(account, decrypt_secrets(box, account))
    share, spared = 1.0, False
    if quota_routing:
        share = quota.factor(account.quota_remaining, account.quota_limit)
        spared = quota.spared(account.quota_runs_out_at, account.quota_resets_at)
    resets_at = account.quota_resets_at if share != 1.0 or spared else None
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
        quota_weight=quota.pick_weight(account.weight, share),
        quota_until=resets_at.timestamp() if resets_at is not None else None,
        quota_spared=spared,
    )


class AccountIndex:
    def __init__(self, box: SecretBox, *, quota_routing: bool = True) -> None:
        self._box = box
        self._quota_routing = quota_routing
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
        candidate = candidate_from(account, self._box, quota_routing=self._quota_routing)
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
