"""The allocation decision: who is calling, which accounts may serve them, which one to use."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from services.account_service.allocation import dreamina
from services.account_service.allocation.catalog import ChatModels, chat_models
from services.account_service.allocation.index import AccountIndex, Candidate
from services.account_service.allocation.picker import Lease, Picks
from services.account_service.allocation.unavailable import UnavailableNotice
from services.account_service.keys.schemas import KeyIdentity
from services.account_service.keys.store import KeyStore
from services.account_service.metrics import REFUSED, count_allocation
from shared.errors import Forbidden, NoAccountAvailable, Unauthenticated


@dataclass(frozen=True, slots=True)
class AllocationRequest:
    api_key: str
    capability: str = "chat"
    model: str | None = None
    formats: tuple[str, ...] | None = None
    exclude: frozenset[str] = frozenset()
    release: tuple[Lease, ...] = ()  # leases the caller has finished with, released before the pick
    # Formats to choose from first (pass-through, native); the others only when none of these is free.
    prefer: tuple[str, ...] = ()


class Allocator:
    def __init__(
        self,
        *,
        index: AccountIndex,
        keys: KeyStore,
        picker: Picks,
        public_pool: bool,
        unavailable: UnavailableNotice | None = None,
    ) -> None:
        self._index = index
        self._keys = keys
        self._picker = picker
        self._public_pool = public_pool
        self._unavailable = unavailable

    async def allocate(self, request: AllocationRequest) -> dict:
        started = time.perf_counter()
        try:
            answer = await self._allocate(request)
        except REFUSED as exc:
            count_allocation(exc, time.perf_counter() - started)
            raise
        count_allocation(None, time.perf_counter() - started)
        return answer

    async def authenticate(self, api_key: str) -> KeyIdentity:
        """The key's identity; 401 for an unknown key, 403 for a disabled key or user."""
        identity = await self._keys.identify(api_key)
        if identity is None:
            raise Unauthenticated("invalid API key", code="invalid_api_key")
        if not identity.enabled or identity.user_disabled:
            raise Forbidden("this API key is disabled", code="key_disabled")
        return identity

    async def models(self, api_key: str) -> ChatModels:
        """The chat models the key's pool can serve (the accounts allocation would consider)."""
        identity = await self.authenticate(api_key)
        return chat_models(self._index.pool(owner_id=str(identity.user_id), public_pool=self._public_pool))

    async def _allocate(self, request: AllocationRequest) -> dict:
        identity = await self.authenticate(request.api_key)
        user_id = str(identity.user_id)
        pool = self._index.pool(owner_id=user_id, public_pool=self._public_pool)
        servable = [
            c
            for c in pool
            if c.serves(capability=request.capability, model=request.model, formats=request.formats)
        ]
        if not servable:
            regions = (c.region for c in pool if c.kind == "dreamina")
            refusal = dreamina.unserved_model(request.capability, request.model, regions)
            if refusal is not None:
                await self._picker.settle(release=request.release)
                raise refusal
        now = time.time()
        usable = [c for c in servable if c.usable_at(now)]
        candidates = [c for c in usable if c.id not in request.exclude]
        if not candidates:
            await self._picker.settle(release=request.release)
            reason = self._nothing_configured(request, servable=len(servable), usable=len(usable))
            if not usable:  # (every usable one already tried by this call is no pool-wide state)
                self._refused(user_id, request, reason)
            raise NoAccountAvailable(reason)
        lease_id = uuid.uuid4().hex
        release = request.release
        for tier in self._tiers(candidates, request.prefer):
            pick = await self._picker.pick(
                lease_id, [(c.id, c.weight, c.max_concurrency) for c in tier], release=release
            )
            release = ()
            if pick.account_id is not None:
                chosen = next(c for c in tier if c.id == pick.account_id)
                break
        else:
            refusal = self._nothing_free(pick, len(candidates))
            if not request.exclude:
                self._refused(user_id, request, refusal.message)
            raise refusal
        return {
            "lease_id": lease_id,
            "key": {"id": str(identity.id), "user_id": user_id},
            "account": chosen.account,
            "upstream": chosen.upstream,
        }

    def _refused(self, user_id: str, request: AllocationRequest, reason: str) -> None:
        if self._unavailable is not None:
            model = request.model or request.capability
            self._unavailable.refused(
                user_id=user_id, model=model, capability=request.capability, reason=reason
            )

    @staticmethod
    def _tiers(candidates: list[Candidate], prefer: tuple[str, ...]) -> list[list[Candidate]]:
        """The preferred candidates first, then the others; empty tiers left out."""
        if not prefer:
            return [candidates]
        first = [c for c in candidates if c.format in prefer]
        rest = [c for c in candidates if c.format not in prefer]
        return [tier for tier in (first, rest) if tier]

    @staticmethod
    def _nothing_configured(request: AllocationRequest, *, servable: int, usable: int) -> str:
        if usable:
            return f"all {usable} account(s) able to serve this request were already tried"
        if servable:
            return f"the {servable} account(s) able to serve this request have expired credentials"
        what = request.capability if request.model is None else f"model {request.model!r}"
        fmt = f" in format {'/'.join(request.formats)}" if request.formats else ""
        return f"no active account is configured for {what}{fmt}"

    @staticmethod
    def _nothing_free(pick, count: int) -> NoAccountAvailable:
        if pick.cooling_until_ms is not None and pick.full == 0:
            retry_after = max(0.0, pick.cooling_until_ms / 1000 - time.time())
            return NoAccountAvailable(
                f"all {count} account(s) are cooling down; retry in {retry_after:.0f}s",
                retry_after=retry_after,
            )
        return NoAccountAvailable(
            f"all {count} account(s) are cooling down or at their concurrency limit", retry_after=1.0
        )
