from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.account_service.users.schemas import Actor


class ApiKey(BaseModel):
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
    """What allocation needs to know about the caller behind a key."""

    id: UUID
    user_id: UUID
    enabled: bool
    user_disabled: bool
    is_admin: bool


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


class KeyCreate(BaseModel):
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
