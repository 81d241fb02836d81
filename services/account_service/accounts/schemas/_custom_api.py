"""Creating a custom API account: any OpenAI- or Claude-format endpoint and its key."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from services.account_service.accounts.schemas._base import (
    AccountCreateBase,
    http_url,
    invalid,
    optional_text,
    word,
)
from services.account_service.accounts.schemas._stored import Account, Format


class CustomApiCreate(AccountCreateBase):
    kind: ClassVar[str] = "custom_api"

    api_base: str = Field(description="http(s) base URL of the OpenAI- or Claude-format API")
    api_key: str = Field(min_length=1, max_length=16384, repr=False)
    format: Format
    provider: str | None = Field(
        default=None, max_length=64, description="openai, azure, anthropic, openrouter, ..."
    )
    models: list[str] = Field(default=[], description="Models it serves; empty = any")
    model_override: str | None = Field(default=None, max_length=200)

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("api_key")
    @classmethod
    def _clean_key(cls, value: str) -> str:
        key = word(value)
        if key is None:
            raise invalid("api_key must not be blank")
        return key

    @field_validator("provider")
    @classmethod
    def _clean_provider(cls, value: str | None) -> str | None:
        # Stored as the proxy and the probe compare it (shared/providers.py names them in lower case).
        provider = optional_text(value)
        return provider.lower() if provider else None

    @field_validator("model_override")
    @classmethod
    def _clean_text(cls, value: str | None) -> str | None:
        return optional_text(value)

    @field_validator("models")
    @classmethod
    def _clean_models(cls, value: list[str]) -> list[str]:
        cleaned = [optional_text(m) for m in value]
        return list(dict.fromkeys(m for m in cleaned if m))

    def settings(self) -> dict[str, Any]:
        return {
            "api_base": self.api_base,
            "format": self.format,
            "provider": self.provider,
            "models": self.models,
            "model_override": self.model_override,
        }

    def secrets(self) -> dict[str, Any]:
        return {"api_key": self.api_key}

    def display_name(self) -> str:
        return self.name or f"{self.provider or self.format}@{urlsplit(self.api_base).hostname}"

    @staticmethod
    def stored_fields(account: Account, secrets: dict[str, Any]) -> dict[str, Any]:
        s = account.settings
        return {
            **AccountCreateBase.common_fields(account),
            "api_base": s.get("api_base"),
            "api_key": secrets.get("api_key"),
            "format": s.get("format"),
            "provider": s.get("provider"),
            "models": s.get("models") or [],
            "model_override": s.get("model_override"),
        }
