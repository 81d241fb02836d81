"""Revalidating one Dreamina account: lock, re-read, ask the upstream, log in if it must, record.

One trigger per account at a time across replicas (a Redis lock that outlives a whole login); a
trigger that finds it held waits, then re-reads, so it sees what the running one stored. Every
check is recorded on the account (kind, result, reason, time; the credits read with their time).

Outcomes: a live sessionid is kept (credits read); a new sessionid is stored through account_service
(which makes the account active) and announced with `account.refreshed`; a dead one that cannot be
replaced makes the account `invalid` with the reason, except a `cn` account, which stays; a failed
login while the sessionid still lives only holds back automatic retries. When jimeng-api or the
browser machinery fails, the failure is announced (`final=False`) and raised, so the broker tries
again after its delay; when it gives up, `give_up` announces the final failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from redis.exceptions import LockError

from services.refresh_worker.dreamina import decisions
from services.refresh_worker.dreamina.checks import Checks
from services.refresh_worker.dreamina.decisions import DreaminaAccount, Step
from services.refresh_worker.dreamina.failures import LoginFailure, LoginTimeout, Session
from services.refresh_worker.dreamina.jimeng import Jimeng, JimengUnavailable
from services.refresh_worker.dreamina.login import Login
from services.refresh_worker.metrics import login_result, refresh_result
from services.refresh_worker.settings import RefreshWorkerSettings
from services.refresh_worker.storing import store_credentials
from shared.errors import NotFound
from shared.internal_client import InternalClient
from shared.logging import get_logger
from shared.messages.contracts import AccountRefreshed, AccountRefreshFailed, Event

log = get_logger(__name__)

Publish = Callable[[Event], Awaitable[object]]
_RENEWED_AT_TTL_S = 24 * 3600
# A revalidation's result by its decision (a login's own result is counted as a login).
_RESULTS = {
    Step.KEEP: "live",
    Step.KEEP_DEAD: "dead_kept",
    Step.INVALIDATE: "invalidated",
    Step.LOGIN: "login",
}
DEAD_CN = "the upstream says the sessionid is dead; a cn account cannot log in, so it stays in the pool"
DEAD_NO_LOGIN = "the upstream says the sessionid is dead, and the account cannot log in (no password)"


class RetryLater(Exception):
    """jimeng-api or the browser machinery failed: the broker tries the trigger again later.
    `dead`: the sessionid was already proven dead, so giving up leaves the account unusable."""

    def __init__(self, reason: str, *, dead: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.dead = dead


class DreaminaRevalidator:
    def __init__(
        self,
        *,
        settings: RefreshWorkerSettings,
        internal: InternalClient,
        jimeng: Jimeng,
        login: Login,
        redis: Redis,
        publish: Publish,
    ) -> None:
        self._settings = settings
        self._internal = internal
        self._jimeng = jimeng
        self._checks = Checks(internal, jimeng)
        self._login = login
        self._redis = redis
        self._publish = publish

    def _key(self, *parts: str) -> str:
        return self._settings.redis_key("refresh_worker", *parts)

    async def handle(self, event, *, occurred_at: datetime) -> None:
        ttl = self._settings.dreamina_lock_ttl_s
        lock = self._redis.lock(
            self._key("lock", event.account_id),
            timeout=ttl,
            sleep=0.2,
            blocking_timeout=ttl,
            thread_local=False,
        )
        if not await lock.acquire():
            raise RetryLater("another revalidation of this account is still running", dead=False)
        try:
            await self._locked(event, occurred_at=occurred_at)
        finally:
            try:
                await lock.release()
            except LockError:
                log.warning("dreamina.lock_expired", account_id=event.account_id)

    async def _locked(self, event, *, occurred_at: datetime) -> None:
        try:
            account = DreaminaAccount.from_read(await self._internal.account_credentials(event.account_id))
        except NotFound:
            log.info("dreamina.account_gone", account_id=event.account_id, trigger=event.TYPE)
            refresh_result("dreamina", "account_gone")
            return
        renewed_at = await self._stamp("renewed_at", account.id)
        skip = decisions.skip_reason(event, occurred_at=occurred_at, account=account, renewed_at=renewed_at)
        if skip:
            log.info("dreamina.skipped", account_id=account.id, trigger=event.TYPE, reason=skip)
            refresh_result("dreamina", "skipped")
            return
        live = await self._is_live(account)
        held_back = not decisions.is_manual(event) and await self._stamp("login_failed_at", account.id)
        step = decisions.next_step(
            live=live,
            account=account,
            now=datetime.now(UTC),
            relogin_before=timedelta(seconds=self._settings.dreamina_relogin_before_s),
            retry_held_back=bool(held_back),
        )
        log.info("dreamina.checked", account_id=account.id, trigger=event.TYPE, live=live, step=step.value)
        refresh_result("dreamina", _RESULTS[step])
        if step is Step.KEEP:
            await self._checks.record(
                account.id, "revalidation", True, "the sessionid is live", credits_of=account.token
            )
        elif step is Step.KEEP_DEAD:
            await self._checks.record(account.id, "revalidation", False, DEAD_CN)
            await self._failed(account.id, DEAD_CN, final=True)
        elif step is Step.INVALIDATE:
            await self._invalidate(account, DEAD_NO_LOGIN, kind="revalidation")
        else:
            await self._log_in(account, dead=not live)

    async def _is_live(self, account: DreaminaAccount) -> bool | None:
        if account.token is None:
            return None
        try:
            return await self._jimeng.is_live(account.token)
        except JimengUnavailable as exc:
            refresh_result("dreamina", "check_unavailable")
            reason = f"could not check the sessionid: {exc.reason}"
            await self._checks.record(account.id, "revalidation", False, reason)
            await self._failed(account.id, reason, final=False)
            raise RetryLater(reason, dead=False) from None

    async def _log_in(self, account: DreaminaAccount, *, dead: bool) -> None:
        try:
            session = await self._login.login(
                can_login=account.can_login,
                region=account.region,
                email=account.email,
                password=account.password,
                proxy=account.proxy,
            )
        except LoginFailure as exc:
            transient = exc.transient and not isinstance(exc, LoginTimeout)
            login_result("dreamina", "transient_failure" if transient else "failed")
            await self._login_failed(account, exc, dead=dead)
            return
        login_result("dreamina", "logged_in")
        await self._store(account.id, session)
        fresh = DreaminaAccount.from_read(await self._internal.account_credentials(account.id))
        await self._checks.record(
            fresh.id, "login", True, "logged in; new sessionid stored", credits_of=fresh.token
        )
        log.info("dreamina.logged_in", account_id=account.id, region=account.region, dead_before=dead)
        await self._publish(
            AccountRefreshed(account_id=account.id, kind="dreamina", expires_at=fresh.expires_at)
        )

    async def _login_failed(self, account: DreaminaAccount, exc: LoginFailure, *, dead: bool) -> None:
        log.warning("dreamina.login_failed", account_id=account.id, reason=exc.reason, dead=dead)
        if exc.transient and not isinstance(exc, LoginTimeout):  # three timeouts are final
            await self._checks.record(account.id, "login", False, exc.reason)
            await self._failed(account.id, exc.reason, final=False)
            raise RetryLater(exc.reason, dead=dead) from None
        if dead:
            had = "the sessionid is dead" if account.token else "the account has no sessionid"
            await self._invalidate(account, f"{had} and the login failed: {exc.reason}")
            return
        await self._redis.set(
            self._key("login_failed_at", account.id),
            datetime.now(UTC).isoformat(),
            ex=max(1, int(self._settings.dreamina_login_retry_after_s)),
        )
        reason = f"the login failed (the current sessionid still lives): {exc.reason}"
        await self._checks.record(account.id, "login", False, reason)
        await self._failed(account.id, reason, final=True)

    async def _store(self, account_id: str, session: Session) -> None:
        """Store the new sessionid, trying hard: it exists nowhere else."""
        await store_credentials(
            self._internal,
            account_id,
            expires_at=session.expires_at.isoformat() if session.expires_at else None,
            secrets={"sessionid": session.sessionid},
        )
        await self._redis.set(
            self._key("renewed_at", account_id), datetime.now(UTC).isoformat(), ex=_RENEWED_AT_TTL_S
        )

    async def _invalidate(self, account: DreaminaAccount, reason: str, *, kind: str = "login") -> None:
        try:
            await self._internal.reject_credential(account.id, reason=reason[:500])
        except NotFound:
            return
        await self._checks.record(account.id, kind, False, reason)
        await self._failed(account.id, reason, final=True)

    async def _stamp(self, name: str, account_id: str) -> datetime | None:
        value = await self._redis.get(self._key(name, account_id))
        return datetime.fromisoformat(value.decode()) if value else None

    async def _failed(self, account_id: str, reason: str, *, final: bool) -> None:
        await self._publish(
            AccountRefreshFailed(account_id=account_id, kind="dreamina", reason=reason, final=final)
        )

    async def give_up(self, event, error: Exception) -> None:
        """The broker dead-lettered the trigger after its last attempt: announce the final failure;
        an account whose sessionid was proven dead becomes `invalid` with the reason."""
        reason = error.reason if isinstance(error, RetryLater) else repr(error)
        reason = f"gave up after {self._settings.max_attempts} attempts: {reason}"
        log.error("dreamina.gave_up", account_id=event.account_id, trigger=event.TYPE, reason=reason)
        if isinstance(error, RetryLater) and error.dead:
            try:
                await self._internal.reject_credential(event.account_id, reason=reason[:500])
            except NotFound:
                pass
        await self._failed(event.account_id, reason, final=True)
