"""A partial change to an account. Which fields apply depends on the account's kind; the result is
validated again as a whole by the kind's create model."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.account_service.accounts.schemas._stored import Format, KiroAuthType, Visibility

# Probes: the bounds of an account's interval (the database checks the same).
PROBE_INTERVAL_MIN_S = 60
PROBE_INTERVAL_MAX_S = 86400


class AccountUpdate(BaseModel):
    """Send only what changes; `null` clears an optional field. Fields of another kind are refused."""

    model_config = ConfigDict(extra="forbid")

    # every kind
    name: str | None = None
    visibility: Visibility | None = None
    weight: int | None = None
    max_concurrency: int | None = None
    probe_enabled: bool | None = Field(
        default=None, description="every kind: probe the account on a schedule"
    )
    probe_interval_s: int | None = Field(
        default=None,
        ge=PROBE_INTERVAL_MIN_S,
        le=PROBE_INTERVAL_MAX_S,
        description=f"every kind: seconds between probes ({PROBE_INTERVAL_MIN_S}-{PROBE_INTERVAL_MAX_S})",
    )
    # kiro and dreamina
    region: str | None = Field(default=None, description="kiro and dreamina")
    # kiro
    refresh_token: str | None = Field(
        default=None, repr=False, description="kiro; the account is validated again"
    )
    auth_type: KiroAuthType | None = Field(default=None, description="kiro")
    client_id: str | None = Field(default=None, repr=False, description="kiro")
    client_secret: str | None = Field(default=None, repr=False, description="kiro")
    profile_arn: str | None = Field(default=None, description="kiro")
    api_region: str | None = Field(default=None, description="kiro")
    # custom_api
    api_base: str | None = Field(default=None, description="custom_api and dreamina (its jimeng-api server)")
    api_key: str | None = Field(default=None, repr=False, description="custom_api")
    format: Format | None = Field(default=None, description="custom_api")
    provider: str | None = Field(default=None, description="custom_api")
    models: list[str] | None = Field(default=None, description="custom_api; empty = any model")
    model_override: str | None = Field(default=None, description="custom_api")
    # dreamina
    email: str | None = Field(default=None, description="dreamina")
    password: str | None = Field(default=None, repr=False, description="dreamina")
    sessionid: str | None = Field(default=None, repr=False, description="dreamina")
    sessionid_expires_at: datetime | None = Field(default=None, description="dreamina")
