from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class User(BaseModel):
    id: UUID
    username: str
    is_admin: bool
    disabled_at: datetime | None
    created_at: datetime
    has_password: bool = Field(description="Whether the user can sign in to the web console")


class Actor(BaseModel):
    """Who makes a change: a user through one of their API keys, or the operator through the CLI."""

    user_id: UUID
    username: str
    is_admin: bool

    def may_see(self, owner_id: UUID) -> bool:
        return self.is_admin or owner_id == self.user_id


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(description="1-64 letters, digits and _.@-")
    is_admin: bool = False


class UserAdminUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    is_admin: bool = Field(description="Give (true) or take away (false) admin rights")
