from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from services.account_service.accounts.schemas import Kind


class Unavailable(BaseModel):
    """How many accounts cannot serve now, by the first reason found (in this order)."""

    pending: int = Field(0, description="Added, not yet validated")
    disabled: int = Field(0, description="Disabled by a person")
    invalid: int = Field(0, description="Credential proven dead")
    exhausted: int = Field(0, description="Quota or credits gone until a reset")
    credential_expired: int = Field(0, description="Active, but its credential's expiry has passed")
    zero_weight: int = Field(0, description="Active with weight 0: never picked")
    cooling: int = Field(0, description="Cooling down after rate limits or server errors")
    full: int = Field(0, description="At its concurrency cap (leases in flight)")


class Availability(BaseModel):
    total: int = Field(description="Accounts counted here, whatever their state")
    available: int = Field(description="Accounts allocation could pick now")
    unavailable: Unavailable


class KindHealth(Availability):
    kind: Kind


class ModelHealth(Availability):
    kind: Kind
    capability: str = Field(description="chat, image or video", examples=["chat"])
    model: str = Field(description="`*`: the accounts that take any model name", examples=["claude-sonnet-4"])


class PoolHealth(BaseModel):
    user_id: UUID | None = Field(description="Whose pool: None for the whole pool (admins)")
    public_pool: bool = Field(description="Whether the public accounts of other users are part of it")
    kinds: list[KindHealth]
    models: list[ModelHealth]
