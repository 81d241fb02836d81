"""An account as the database holds it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

Kind = Literal["kiro", "custom_api", "dreamina"]
Visibility = Literal["private", "public"]
Status = Literal["pending", "active", "disabled", "invalid", "exhausted"]
CheckKind = Literal["refresh", "revalidation", "login"]
Format = Literal["openai", "claude"]
KiroAuthType = Literal["social", "idc"]


class Account(BaseModel):
    """An account as stored, secrets still encrypted (one Fernet token of a JSON object)."""

    id: UUID
    owner_id: UUID
    kind: Kind
    name: str
    visibility: Visibility
    status: Status
    status_reason: str | None
    status_changed_at: datetime
    status_until: datetime | None = None
    weight: int
    max_concurrency: int
    region: str | None = None
    credential_expires_at: datetime | None = None
    settings: dict[str, Any]
    secrets: str = Field(repr=False)
    success_count: int
    fail_count: int
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # The last credential check (written by the refresh worker through the internal API).
    last_check_at: datetime | None = None
    last_check_ok: bool | None = None
    last_check_kind: CheckKind | None = None
    last_check_reason: str | None = None
    # dreamina: the credits the upstream last reported, and when.
    credits: int | None = None
    credits_read_at: datetime | None = None
    # The calls counted in `calls_day` (shared/day_boundary.py); an older day's count is not today's.
    calls_day: date | None = None
    calls_today: int = 0
    calls_today_ok: int = 0
    # Probes (probes/): a scheduled health check, off unless the owner turns it on.
    probe_enabled: bool = False
    probe_interval_s: int = 300
    # The last upstream error an error rule named (its reason), and when.
    last_error: str | None = None
    last_error_at: datetime | None = None
    # What the upstream last said the account has left (allocation/quota.py, migration 0012).
    quota_source: str | None = None
    quota_remaining: float | None = None
    quota_limit: float | None = None
    quota_resets_at: datetime | None = None
    quota_runs_out_at: datetime | None = None
    quota_updated_at: datetime | None = None
    # The egress proxy all of its traffic goes through (proxies/), as its row holds it: id, name,
    # scheme, host, port, username, password (encrypted), healthy, last_error. None: direct.
    egress_proxy_id: UUID | None = None
    egress_proxy: dict[str, Any] | None = Field(default=None, repr=False)
