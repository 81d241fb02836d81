"""Message contracts: one pydantic model per event, `noun.verb` routing keys.

Messages carry ids and facts, never secrets or whole rows; consumers reload what they need.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

AccountKind = Literal["kiro", "custom_api", "dreamina"]


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1


class AccountCreated(Event):
    TYPE = "account.created"
    account_id: str
    kind: AccountKind
    owner_id: str


class AccountUpdated(Event):
    TYPE = "account.updated"
    account_id: str
    kind: AccountKind
    fields: list[str] = []


class AccountDeleted(Event):
    TYPE = "account.deleted"
    account_id: str
    kind: AccountKind


class AccountStatusChanged(Event):
    TYPE = "account.status_changed"
    account_id: str
    kind: AccountKind
    status: str
    reason: str | None = None


class AccountRefreshDue(Event):
    TYPE = "account.refresh_due"
    account_id: str
    kind: AccountKind
    expires_at: datetime | None = None


class AccountRefreshRequested(Event):
    TYPE = "account.refresh_requested"
    account_id: str
    kind: AccountKind
    requested_by: str | None = None


class AccountProbeRequested(Event):
    """Run one cheap health check of the account now (the worker reports the result through the
    internal API): scheduled by the sweeper for accounts that opted in, or asked for by a person."""

    TYPE = "account.probe_requested"
    account_id: str
    kind: AccountKind
    requested_by: str | None = None


class AccountCredentialRejected(Event):
    TYPE = "account.credential_rejected"
    account_id: str
    kind: AccountKind
    status_code: int
    reason: str | None = None


class AccountRefreshed(Event):
    TYPE = "account.refreshed"
    account_id: str
    kind: AccountKind
    expires_at: datetime | None = None


class AccountRefreshFailed(Event):
    TYPE = "account.refresh_failed"
    account_id: str
    kind: AccountKind
    reason: str
    final: bool = False


class ApiKeyChanged(Event):
    """A key was created, disabled, enabled or deleted: replicas drop what they cached of it."""

    TYPE = "api_key.changed"
    key_id: str
    user_id: str


class UserChanged(Event):
    TYPE = "user.changed"
    user_id: str


JobAction = Literal["refresh_due", "refresh_all", "refresh_unavailable"]


class JobProgressed(Event):
    """A chunk of a long action's accounts was worked through (`GET /api/v1/jobs/{job_id}` has each
    account's result). For refresh actions `queued` counts refreshes requested from the worker, not
    refreshes done: their results appear on the accounts as the worker checks them."""

    TYPE = "job.progressed"
    job_id: str
    action: JobAction
    user_id: str
    total: int
    queued: int
    skipped: int


class JobFinished(Event):
    """Every account of a long action has its result."""

    TYPE = "job.finished"
    job_id: str
    action: JobAction
    user_id: str
    total: int
    queued: int
    skipped: int


Outcome = Literal[
    "success",
    "rate_limited",
    "upstream_error",
    "timeout",
    "connect_error",
    "client_error",
    "credential_rejected",
    "exhausted",
    "cancelled",
    "proxy_error",  # the account's egress proxy failed (never a direct connection instead)
    "internal_error",  # the proxy service's own failure
]


class UsageRecorded(Event):
    """One upstream attempt, for counters, health and outcomes (its lease was released directly).

    `capability` is chat, image or video; an image or video call says what it produced (`images`,
    `video_seconds`); `upstream_code` is the upstream's own failure code where it has one (jimeng-api's
    envelope `code`, which comes with HTTP 200); `error_excerpt` is a failed attempt's error body,
    redacted and cut to 512 characters (shared/error_excerpt.py), including an error event that
    ended a stream after it started; error rules match it. `quota_remaining` is the fraction of the
    upstream's tightest rate limit left after this call and `quota_resets_at` when it resets, where
    the answer's rate-limit headers said (proxy_service/relay/quota_headers.py)."""

    TYPE = "usage.recorded"
    lease_id: str
    account_id: str
    api_key_id: str
    user_id: str
    model: str
    capability: str = "chat"
    status_code: int | None = None
    outcome: Outcome
    latency_ms: float
    first_byte_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    retry_after: float | None = None
    stream: bool = False
    images: int | None = None
    video_seconds: float | None = None
    upstream_code: int | None = None
    error_excerpt: str | None = None
    quota_remaining: float | None = None
    quota_resets_at: datetime | None = None
    # The egress proxy the attempt went through (None: the account has none); with `proxy_error`,
    # the proxy that failed it.
    egress_proxy_id: str | None = None
    egress_error: str | None = None  # with `proxy_error`: how the proxy failed (no URL or credential)


class ApiKeyLimitReached(Event):
    """A key reached one of its limits; `tokens_per_day` is said once per key and day (until
    `resets_at`), so an alert fires once rather than on every refused call."""

    TYPE = "api_key.limit_reached"
    key_id: str
    user_id: str
    limit: Literal["requests_per_minute", "concurrency", "tokens_per_day"]
    value: int
    day: date | None = None
    resets_at: datetime | None = None


class PoolUnavailable(Event):
    """No account of the caller's pool could serve a model (every one invalid, exhausted, cooling or
    full): said at most once per user, model and few minutes, however many calls were refused."""

    TYPE = "pool.unavailable"
    user_id: str
    model: str
    capability: str = "chat"
    reason: str


class EgressProxyUnhealthy(Event):
    """An egress proxy turned unhealthy (it was healthy or never checked): said once per turn, by a
    failed test or a call it failed, not on every failure. `url` is redacted (password as `****`);
    `accounts` is how many accounts use it."""

    TYPE = "egress_proxy.unhealthy"
    proxy_id: str
    user_id: str
    name: str
    url: str
    error: str | None = None
    accounts: int = 0


class AccountProbeFailed(Event):
    """A probe of an account failed while the one before was healthy (or there was none): said once
    per turn, not on every failed probe. `detail` is the probe's own, secrets already removed."""

    TYPE = "account.probe_failed"
    account_id: str
    kind: str
    method: str
    status: int | None = None
    detail: str | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        AccountCreated,
        AccountUpdated,
        AccountDeleted,
        AccountStatusChanged,
        AccountRefreshDue,
        AccountRefreshRequested,
        AccountProbeRequested,
        AccountCredentialRejected,
        AccountRefreshed,
        AccountRefreshFailed,
        ApiKeyChanged,
        UserChanged,
        JobProgressed,
        JobFinished,
        UsageRecorded,
        ApiKeyLimitReached,
        PoolUnavailable,
        EgressProxyUnhealthy,
        AccountProbeFailed,
    )
}
