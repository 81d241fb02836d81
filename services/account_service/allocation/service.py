"""The allocation decision: who is calling, which accounts may serve them, which one to use."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime

from services.account_service.allocation import dreamina
from services.account_service.allocation.catalog import ChatModels, chat_models
from services.account_service.allocation.index import AccountIndex, Candidate
from services.account_service.allocation.picker import Lease, Pick, Picks
from services.account_service.allocation.sticky import sticky_for
from services.account_service.allocation.unavailable import UnavailableNotice
from services.account_service.keys.limits import (
    Gate,
    LimitDefaults,
    effective,
    limit_reached,
    model_allowed,
    model_refused,
)
from services.account_service.keys.schemas import KeyIdentity
from services.account_service.keys.store import KeyStore
from services.account_service.metrics import REFUSED, count_allocation, count_sticky
from shared.day_boundary import DayBoundary
from shared.errors import Forbidden, NoAccountAvailable, RateLimited, Unauthenticated

_NO_DAY = date(1970, 1, 1)  # the day a gate without a tokens limit carries (the script never reads it)


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
    # Another attempt of a client call already let through: the key's limits neither refuse nor count it.
    retry: bool = False
    # The conversation's sticky session (allocation/sticky.py), looked up only with `session_lookup`.
    session: str | None = None
    session_lookup: bool = True


class Allocator:
    def __init__(
        self,
        *,
        index: AccountIndex,
        keys: KeyStore,
        picker: Picks,
        public_pool: bool,
        unavailable: UnavailableNotice | None = None,
        limit_defaults: LimitDefaults | None = None,
        days: DayBoundary | None = None,
        sticky_ttl_s: float = 3600.0,
    ) -> None:
        self._index = index
        self._keys = keys
        self._picker = picker
        self._public_pool = public_pool
        self._unavailable = unavailable
        self._defaults = limit_defaults or LimitDefaults()
        self._days = days or DayBoundary()
        self._sticky_ttl_s = sticky_ttl_s
        self._today: tuple[date, datetime, datetime] | None = None  # (today, its start, the next day's)

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
        """The chat models the key's pool can serve (the accounts allocation would consider), those
        the key may call."""
        identity = await self.authenticate(api_key)
        found = chat_models(self._index.pool(owner_id=str(identity.user_id), public_pool=self._public_pool))
        if identity.allowed_models:
            allowed = [m for m in found.models if model_allowed(identity.allowed_models, m)]
            found = replace(found, models=allowed)
        return found

    def _gate(self, identity: KeyIdentity, *, retry: bool) -> Gate | None:
        """The key's counted limits for the pick script; None when it has none."""
        defaults = self._defaults
        rpm = effective(identity.requests_per_minute, defaults.requests_per_minute)
        concurrency = effective(identity.concurrency, defaults.concurrency)
        tokens = effective(identity.tokens_per_day, defaults.tokens_per_day)
        if rpm is None and concurrency is None and tokens is None:
            return None
        today = self._current_day() if tokens is not None else _NO_DAY
        return Gate(str(identity.id), not retry, rpm, concurrency, tokens, today)

    def _current_day(self) -> date:
        """The configured day now; worked out again only when the next one begins (time zones are
        slow to convert, and this runs per call)."""
        now = self._days.now()
        if self._today is None or not (self._today[1] <= now < self._today[2]):
            day = self._days.day_of(now)
            self._today = (day, self._days.start_of(day), self._days.next_start(now))
        return self._today[0]

    def _refusal(self, pick: Pick, gate: Gate) -> RateLimited:
        limit = pick.refused
        value = getattr(gate, limit)
        if pick.retry_after_ms is not None:
            return limit_reached(limit, value, pick.retry_after_ms / 1000)
        now = self._days.now()  # tokens per day: until the next day begins
        return limit_reached(limit, value, (self._days.next_start(now) - now).total_seconds())

    async def _allocate(self, request: AllocationRequest) -> dict:
        identity = await self.authenticate(request.api_key)
        if not model_allowed(identity.allowed_models, request.model):
            await self._picker.settle(release=request.release)
            raise model_refused(request.model or "")
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
        gate = self._gate(identity, retry=request.retry)
        lease_id = uuid.uuid4().hex if gate is None else gate.lease_id(uuid.uuid4().hex)
        release = request.release
        sticky = sticky_for(
            str(identity.id), request.session, lookup=request.session_lookup, ttl_s=self._sticky_ttl_s
        )
        for tier in self._tiers(candidates, request.prefer, now):
            pick = await self._picker.pick(
                lease_id,
                [(c.id, c.pick_weight(now), c.max_concurrency) for c in tier],
                release=release,
                gate=gate,
                sticky=sticky,
            )
            release = ()
            if pick.refused is not None and gate is not None:
                raise self._refusal(pick, gate)
            if pick.account_id is not None:
                chosen = next(c for c in tier if c.id == pick.account_id)
                count_sticky(pick.sticky if sticky is not None else "none")
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
    def _tiers(candidates: list[Candidate], prefer: tuple[str, ...], now: float) -> list[list[Candidate]]:
        """The preferred candidates first, then the others, then those spared for their quota
        (allocation/quota.py); empty tiers left out."""
        spare: list[Candidate] = []
        if any(c.quota_spared for c in candidates):
            rest: list[Candidate] = []
            for c in candidates:
                (spare if c.spared(now) else rest).append(c)
            candidates = rest
        if not prefer:
            return [tier for tier in (candidates, spare) if tier]
        first = [c for c in candidates if c.format in prefer]
        rest = [c for c in candidates if c.format not in prefer]
        return [tier for tier in (first, rest, spare) if tier]

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
