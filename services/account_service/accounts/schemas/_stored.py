"""An account as the database holds it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

Kind = Literal["kiro", "custom_api", "dreamina"]
Visibility = Literal["private", "public"]
Status = Literal["pending", "active", "disabled", "invalid", "exhausted"]
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
