from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel


class User(BaseModel):
    id: UUID
    username: str
    is_admin: bool
    disabled_at: datetime | None
    created_at: datetime
