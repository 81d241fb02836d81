"""What the management API answers about accounts: secrets only ever masked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from services.account_service.accounts.rules import ChatRegionSource
from services.account_service.accounts.schemas._stored import CheckKind, Kind, Status, Visibility


class LastCheck(BaseModel):
    """What the last check of the credential found (the refresh worker's verdict)."""

    at: datetime
    ok: bool
    kind: CheckKind | None = Field(
        description="refresh (kiro), revalidation (a dreamina sessionid asked of the upstream) or login"
    )
    reason: str | None = Field(description="Why it failed, or what it found")


class CallsToday(BaseModel):
    day: date = Field(description="The current day (POOLGATE_TIMEZONE, from POOLGATE_DAY_STARTS_AT)")
    total: int = Field(description="Upstream attempts with this account since the day began")
    ok: int = Field(description="Of which succeeded")


class EgressProxyRef(BaseModel):
    """The egress proxy all of an account's traffic goes through (never its password)."""

    id: UUID
    name: str
    url: str = Field(description="The proxy's URL, password redacted")
    healthy: bool | None = Field(description="None: never tested or used yet")
    last_error: str | None = Field(description="Why the last test or call through it failed")


class AccountOut(BaseModel):
    id: UUID
    kind: Kind
    name: str
    owner_id: UUID
    owner: str | None = Field(description="The owner's username")
    visibility: Visibility
    status: Status
    status_reason: str | None
    status_changed_at: datetime
    status_until: datetime | None = Field(description="`exhausted` until this time")
    region: str | None
    chat_region: str | None = Field(description="kiro: the AWS region of the chat host its calls go to")
    chat_region_source: ChatRegionSource | None = Field(
        description="kiro: why that region: the account's api_region, the region of its profile ARN, "
        "or us-east-1 when neither names one"
    )
    weight: int
    max_concurrency: int
    settings: dict[str, Any] = Field(description="The kind's non-secret settings")
    secrets: dict[str, str | None] = Field(description="Each secret masked: its first 4 characters + ****")
    can_login: bool | None = Field(description="dreamina: whether a browser login may ever be tried")
    credential_expires_at: datetime | None = Field(
        description="kiro: access token expiry; dreamina: sessionid expiry (not enforced for cn)"
    )
    success_count: int
    fail_count: int
    calls_today: CallsToday
    last_check: LastCheck | None = Field(description="The last refresh, revalidation or login and its result")
    last_error: str | None = Field(default=None, description="The last upstream error an error rule named")
    last_error_at: datetime | None = Field(default=None, description="When that error happened")
    credits: int | None = Field(description="dreamina: the credits the upstream last reported")
    credits_read_at: datetime | None = Field(description="dreamina: when those credits were read")
    probe_enabled: bool = Field(default=False, description="Whether the account is probed on a schedule")
    probe_interval_s: int = Field(default=300, description="Seconds between scheduled probes")
    quota: QuotaOut | None = Field(
        default=None, description="What the account has left, where its upstream says"
    )
    last_used_at: datetime | None
    egress_proxy: EgressProxyRef | None = Field(
        default=None, description="The proxy its traffic goes through; none: it connects directly"
    )
    created_at: datetime
    updated_at: datetime


class QuotaOut(BaseModel):
    """What the upstream last said the account has left (allocation/quota.py)."""

    source: Literal["kiro_usage_limits", "dreamina_points", "ratelimit_headers"]
    remaining: float = Field(
        description="Left: Kiro credits, Dreamina credits, or (rate-limit headers) a fraction"
    )
    limit: float = Field(description="Of this; for Dreamina the most credits the account has held")
    fraction_left: float = Field(ge=0, le=1)
    resets_at: datetime | None
    runs_out_at: datetime | None = Field(description="When it runs out at its recent pace, if it is spending")
    spared: bool = Field(description="Projected to run out before its reset, so used after the others")
    updated_at: datetime


class AccountPage(BaseModel):
    items: list[AccountOut]
    page: int
    per_page: int
    total: int


class ImportLine(BaseModel):
    line: int = Field(description="1-based line of the text (for a JSON list: 1-based position of the entry)")
    ok: bool
    account_id: UUID | None = None
    reason: str | None = None


class ImportReport(BaseModel):
    results: list[ImportLine]
    imported: int
    failed: int


IMPORT_TEXT_LIMIT = 5_000_000  # characters of an import's text (the console's upload: bytes)


class KiroImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        max_length=IMPORT_TEXT_LIMIT,
        description="One refresh token per line, or JSON: an object or a list of objects (camelCase or "
        "snake_case keys: refreshToken, clientId, clientSecret, profileArn, region, authType, apiRegion)",
    )
    default_region: str | None = Field(
        default=None, description="Region of entries that name none (us-east-1)"
    )
    visibility: Visibility = "private"


class DreaminaImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        max_length=IMPORT_TEXT_LIMIT,
        description="Lines `email:password:region[:sessionid]`; an empty region means cn; "
        "blank lines and lines starting with # are skipped",
    )
    visibility: Visibility = "private"


class KiroExportEntry(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    refresh_token: str
    client_id: str | None
    client_secret: str | None
    profile_arn: str | None
    region: str
    auth_type: str
    api_region: str | None
