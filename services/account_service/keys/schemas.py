from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel


class ApiKey(BaseModel):
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
