"""Refreshing one Kiro account: lock, re-read, decide, refresh, store, announce.

Refresh tokens rotate, so two refreshes of one token must never overlap: each account has a Redis
lock shared by every worker replica (redis-py's `Lock`: `SET NX PX` with a random token, released
by a compare-and-delete script). Its TTL outlives the whole critical section; a worker that finds
it held waits (bounded) and, like every worker that takes it, re-reads the credentials first, since
the refresh token may have rotated meanwhile.

Outcomes: new credentials are stored through account_service (which makes a pending account
active) and announced with `account.refreshed`; a dead credential makes the account `invalid` with
the reason; a transient failure is announced (`final=False`) and raised, so the broker retries it
after its delay; when the broker gives up, `give_up` announces the final failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
from redis.asyncio import Redis
from redis.exceptions import LockError

from services.refresh_worker import kiro_auth, kiro_usage
from services.refresh_worker.egress import ProxiedClients
from services.refresh_worker.kiro_auth import (
    DeadCredential,
    KiroCredential,
    KiroTokens,
    RefreshRefused,
    RefreshUrls,
    TransientRefreshError,
)
from services.refresh_worker.metrics import refresh_result
from services.refresh_worker.refresh_rules import AccountState, Trigger, skip_reason
from services.refresh_worker.settings import RefreshWorkerSettings
from services.refresh_worker.storing import store_credentials
from shared.errors import NotFound, PoolGateError
from shared.internal_client import InternalClient
from shared.logging import get_logger
from shared.messages.contracts import AccountRefreshed, AccountRefreshFailed, Event

log = get_logger(__name__)

Publish = Callable[[Event], Awaitable[object]]
_REFRESHED_AT_TTL_S = 24 * 3600


class LockBusy(TransientRefreshError):
    """Another replica held the account's lock for longer than this one would wait."""


class KiroRefresher:
    def __init__(
        self,
        *,
        settings: RefreshWorkerSettings,
        internal: InternalClient,
        http: httpx.AsyncClient,
        redis: Redis,
        publish: Publish,
        proxied: ProxiedClients | None = None,
    ) -> None:
        self._settings = settings
        self._internal = internal
        self._http = http
        self._redis = redis
        self._publish = publish
        self._proxied = proxied
        self._urls = RefreshUrls(social=settings.kiro_social_refresh_url, idc=settings.kiro_idc_refresh_url)

    def _key(self, *parts: str) -> str:
        return self._settings.redis_key("refresh_worker", *parts)

    async def handle(self, event: Trigger, *, occurred_at: datetime) -> None:
        account_id = event.account_id
        lock = self._redis.lock(
            self._key("lock", account_id),
            timeout=self._settings.refresh_lock_ttl_s,
            sleep=0.05,
            blocking_timeout=self._settings.refresh_lock_wait_s,
            thread_local=False,
        )
        if not await lock.acquire():
            raise LockBusy("another refresh of this account is still running")
        try:
            await self._refresh_locked(event, occurred_at=occurred_at)
        finally:
            try:
                await lock.release()
            except LockError:  # it expired: the critical section overran its TTL
                log.warning("kiro.refresh.lock_expired", account_id=account_id)

    def _client(self, stored: dict) -> httpx.AsyncClient:
        """The account's egress proxy's client, or the direct one for an account without."""
        proxy = stored.get("proxy")
        if not proxy:
            return self._http
        if self._proxied is None:
            raise TransientRefreshError(
                "the account has an egress proxy and this worker has no proxied client"
            )
        return self._proxied.get(proxy)

    async def _refresh_locked(self, event: Trigger, *, occurred_at: datetime) -> None:
        account_id = event.account_id
        try:
            stored = await self._internal.account_credentials(account_id)
        except NotFound:
            log.info("kiro.refresh.account_gone", account_id=account_id, trigger=event.TYPE)
            refresh_result("kiro", "account_gone")
            return
        state = AccountState.from_read(stored)
        skip = skip_reason(
            event, occurred_at=occurred_at, account=state, refreshed_at=await self._refreshed_at(account_id)
        )
        if skip:
            log.info("kiro.refresh.skipped", account_id=account_id, trigger=event.TYPE, reason=skip)
            refresh_result("kiro", "skipped")
            return
        try:
            credential = KiroCredential.from_stored(stored)
            tokens = await kiro_auth.refresh(
                self._client(stored), credential, self._urls, timeout_s=self._settings.kiro_refresh_timeout_s
            )
        except DeadCredential as exc:
            refresh_result("kiro", "dead_credential")
            await self._dead(account_id, exc)
            return
        except RefreshRefused as exc:
            refresh_result("kiro", "refused")
            log.error("kiro.refresh.refused", account_id=account_id, reason=exc.reason)
            await self._record(account_id, ok=False, reason=exc.reason)
            await self._failed(account_id, exc.reason, final=True)
            return
        except TransientRefreshError as exc:
            refresh_result("kiro", "transient_error")
            log.warning("kiro.refresh.transient", account_id=account_id, reason=exc.reason)
            await self._record(account_id, ok=False, reason=exc.reason)
            await self._failed(account_id, exc.reason, final=False)
            raise
        await self._store(account_id, tokens, rotated=tokens.refresh_token is not None)
        limits = await self._usage_limits(account_id, stored, tokens)
        await self._record(account_id, ok=True, reason="access token refreshed", usage_limits=limits)
        refresh_result("kiro", "refreshed")
        log.info(
            "kiro.refresh.done",
            account_id=account_id,
            trigger=event.TYPE,
            region=credential.region,
            auth_type=credential.auth_type,
            expires_at=tokens.expires_at.isoformat(),
            rotated=tokens.refresh_token is not None,
        )
        await self._publish(
            AccountRefreshed(account_id=account_id, kind="kiro", expires_at=tokens.expires_at)
        )

    async def _store(self, account_id: str, tokens: KiroTokens, *, rotated: bool) -> None:
        """Store the new tokens, trying hard: once a refresh token rotated, the new one exists only here."""
        secrets = {"access_token": tokens.access_token}
        if tokens.refresh_token:
            secrets["refresh_token"] = tokens.refresh_token
        settings = {"profile_arn": tokens.profile_arn} if tokens.profile_arn else {}
        try:
            await store_credentials(
                self._internal,
                account_id,
                expires_at=tokens.expires_at.isoformat(),
                secrets=secrets,
                settings=settings,
            )
        except PoolGateError as exc:
            log.error("kiro.refresh.store_failed", account_id=account_id, rotated=rotated, error=exc.message)
            raise
        await self._redis.set(
            self._key("refreshed_at", account_id), datetime.now(UTC).isoformat(), ex=_REFRESHED_AT_TTL_S
        )

    async def _usage_limits(self, account_id: str, stored: dict, tokens: KiroTokens) -> dict | None:
        """What the account has left, read with its new token (best effort: the quota stays as it was)."""
        if not self._settings.kiro_usage_url:
            return None
        settings = stored.get("settings") or {}
        try:
            limits = await kiro_usage.read(
                self._http,
                url_template=self._settings.kiro_usage_url,
                access_token=tokens.access_token,
                settings=settings,
                profile_arn=tokens.profile_arn or settings.get("profile_arn"),
                timeout_s=self._settings.kiro_usage_timeout_s,
            )
        except kiro_usage.UsageUnread as exc:
            log.warning("kiro.usage_unread", account_id=account_id, reason=exc.reason)
            return None
        return limits.to_json(datetime.now(UTC))

    async def _refreshed_at(self, account_id: str) -> datetime | None:
        value = await self._redis.get(self._key("refreshed_at", account_id))
        return datetime.fromisoformat(value.decode()) if value else None

    async def _dead(self, account_id: str, exc: DeadCredential) -> None:
        log.warning("kiro.refresh.dead_credential", account_id=account_id, reason=exc.reason)
        try:
            await self._internal.reject_credential(account_id, reason=exc.reason[:500])
        except NotFound:
            return
        await self._record(account_id, ok=False, reason=exc.reason)
        await self._failed(account_id, exc.reason, final=True)

    async def _record(
        self, account_id: str, *, ok: bool, reason: str, usage_limits: dict | None = None
    ) -> None:
        """Record the refresh as the account's last check (best effort: it is shown, never acted upon),
        with the usage limits read after it."""
        try:
            await self._internal.record_check(
                account_id,
                kind="refresh",
                ok=ok,
                reason=reason[:500],
                checked_at=datetime.now(UTC).isoformat(),
                usage_limits=usage_limits,
            )
        except PoolGateError as exc:
            log.warning("kiro.refresh.check_unrecorded", account_id=account_id, error=exc.message)

    async def _failed(self, account_id: str, reason: str, *, final: bool) -> None:
        await self._publish(
            AccountRefreshFailed(account_id=account_id, kind="kiro", reason=reason, final=final)
        )

    async def give_up(self, event: Trigger, error: Exception) -> None:
        """The broker dead-lettered the trigger after its last attempt: announce the final failure."""
        reason = error.reason if isinstance(error, kiro_auth.RefreshError) else repr(error)
        reason = f"gave up after {self._settings.max_attempts} attempts: {reason}"
        log.error("kiro.refresh.gave_up", account_id=event.account_id, trigger=event.TYPE, reason=reason)
        await self._failed(event.account_id, reason, final=True)
