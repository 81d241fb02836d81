from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import BaseModel, Field, field_validator

Kind = Literal["kiro", "custom_api", "dreamina"]
Visibility = Literal["private", "public"]
Status = Literal["pending", "active", "disabled", "invalid", "exhausted"]
Format = Literal["openai", "claude"]


class Account(BaseModel):
    """An account as stored, secrets still encrypted."""

    id: UUID
    owner_id: UUID
    kind: Kind
    name: str
    visibility: Visibility
    status: Status
    status_reason: str | None
    status_changed_at: datetime
    weight: int
    max_concurrency: int
    settings: dict[str, Any]
    secrets: str = Field(repr=False)
    success_count: int
    fail_count: int
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime


class CustomApiCreate(BaseModel):
    name: str | None = None
    api_base: str
    api_key: str = Field(min_length=1, repr=False)
    format: Format
    provider: str | None = None
    models: list[str] = []
    model_override: str | None = None
    visibility: Visibility = "private"
    weight: int = Field(default=100, ge=0, le=10000)
    max_concurrency: int = Field(default=32, gt=0)

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("api_base must be an http:// or https:// URL")
        return value.strip().rstrip("/")

    @field_validator("models")
    @classmethod
    def _clean_models(cls, value: list[str]) -> list[str]:
        return [m.strip() for m in value if m.strip()]

    def settings(self) -> dict[str, Any]:
        return {
            "api_base": self.api_base,
            "format": self.format,
            "provider": self.provider,
            "models": self.models,
            "model_override": self.model_override,
        }

    def display_name(self) -> str:
        return self.name or f"{self.provider or self.format}@{urlsplit(self.api_base).hostname}"
