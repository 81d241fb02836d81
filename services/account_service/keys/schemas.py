from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.account_service.users.schemas import Actor

ModelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class KeyLimits(BaseModel):
    """A key's own limits (keys/limits.py); null: the operator's default, and with none, no limit."""

    requests_per_minute: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Client calls per minute (a sliding minute)"
    )
    concurrency: int | None = Field(default=None, ge=1, le=100_000, description="Client calls at once")
    tokens_per_day: int | None = Field(
        default=None,
        ge=1,
        le=10**15,
        description="Input plus output tokens per day (POOLGATE_TIMEZONE and POOLGATE_DAY_STARTS_AT)",
    )
    allowed_models: list[ModelName] | None = Field(
        default=None,
        max_length=200,
        description="Models the key may call: names, or patterns with `*` (`claude-*`); null or empty: any",
    )

    @field_validator("allowed_models")
    @classmethod
    def _any_when_empty(cls, value: list[str] | None) -> list[str] | None:
        if not value:
            return None
        return list(dict.fromkeys(value))  # each once, in the order given


class ApiKey(KeyLimits):
    """A key as listed: never its hash, only the first characters of the plaintext."""

    id: UUID
    user_id: UUID
    name: str | None
    prefix: str
    enabled: bool
    request_count: int
    last_used_at: datetime | None
    created_at: datetime


class KeyIdentity(BaseModel):
    """What allocation needs to know about the caller behind a key, its own limits among it."""

    id: UUID
    user_id: UUID
    enabled: bool
    user_disabled: bool
    is_admin: bool
    requests_per_minute: int | None = None
    concurrency: int | None = None
    tokens_per_day: int | None = None
    allowed_models: list[str] | None = None


class CallerRecord(BaseModel):
    """A key and its user, as looked up to authenticate a management API call."""

    key_id: UUID
    key_prefix: str
    key_name: str | None
    key_enabled: bool
    user_id: UUID
    username: str
    is_admin: bool
    user_disabled: bool


class Caller(Actor):
    """An authenticated management API caller."""

    key_id: UUID
    key_prefix: str
    key_name: str | None


NAME_MAX_LENGTH = 200


class KeyCreate(KeyLimits):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=NAME_MAX_LENGTH)


class KeyUpdate(KeyLimits):
    """A change to a key: only the fields sent change; a limit sent as null goes back to the default."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=NAME_MAX_LENGTH)


class KeyCreated(ApiKey):
    key: str = Field(description="The plaintext key: shown only in this answer, never stored")


class Me(BaseModel):
    user_id: UUID
    username: str
    is_admin: bool
    key_id: UUID
    key_prefix: str
    key_name: str | None
