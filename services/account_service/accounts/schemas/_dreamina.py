"""Creating a Dreamina account: e-mail, password, region and sessionid."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from services.account_service.accounts import rules
from services.account_service.accounts.schemas._base import (
    EMAIL,
    AccountCreateBase,
    http_url,
    invalid,
    rule_error,
    word,
)
from services.account_service.accounts.schemas._stored import Account


class DreaminaCreate(AccountCreateBase):
    kind: ClassVar[str] = "dreamina"

    email: str = Field(max_length=320)
    password: str = Field(default="", max_length=1024, repr=False, description="May be blank; no ':'")
    region: str = Field(description=f"Required: {rules.allowed(rules.DREAMINA_REGIONS)}")
    sessionid: str | None = Field(
        default=None,
        max_length=4096,
        repr=False,
        description="Raw or already region-prefixed; stored as given",
    )
    sessionid_expires_at: datetime | None = Field(default=None, description="Default: 60 days from now")
    api_base: str | None = Field(
        default=None,
        description="http(s) URL of this account's own jimeng-api server; default: the operator's"
        " POOLGATE_JIMENG_API_URL",
    )

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else http_url(value)

    @field_validator("email")
    @classmethod
    def _clean_email(cls, value: str) -> str:
        value = value.strip()
        if not EMAIL.fullmatch(value):
            raise invalid("email must look like name@host (no spaces or ':')")
        return value

    @field_validator("password", mode="before")
    @classmethod
    def _clean_password(cls, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, str) and (":" in value or "\n" in value or "\r" in value or "\x00" in value):
            raise invalid("password must not contain ':' or line breaks (the import format separates by ':')")
        return value

    @field_validator("sessionid")
    @classmethod
    def _clean_sessionid(cls, value: str | None) -> str | None:
        value = word(value)
        if value is not None and ":" in value:
            raise invalid("sessionid must not contain ':'")
        return value

    @field_validator("sessionid_expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @model_validator(mode="after")
    def _dreamina_rules(self) -> DreaminaCreate:
        try:
            self.region = rules.dreamina_region(self.region)
            rules.check_dreamina_credentials(
                region=self.region, password=self.password, sessionid=self.sessionid
            )
        except rules.RuleViolation as violation:
            raise rule_error("DreaminaCreate", violation) from None
        if self.sessionid is None:
            self.sessionid_expires_at = None
        return self

    @property
    def can_login(self) -> bool:
        return rules.can_login(self.password, self.region)

    def stored_region(self) -> str | None:
        return self.region

    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {"email": self.email, "can_login": self.can_login}
        if self.api_base:
            settings["api_base"] = self.api_base
        return settings

    def secrets(self) -> dict[str, Any]:
        found = {"password": self.password, "sessionid": self.sessionid}
        return {k: v for k, v in found.items() if v is not None}

    def display_name(self) -> str:
        return self.name or self.email

    def credential_expires_at(self, now: datetime) -> datetime | None:
        return rules.sessionid_expiry(sessionid=self.sessionid, given=self.sessionid_expires_at, now=now)

    @staticmethod
    def stored_fields(account: Account, secrets: dict[str, Any]) -> dict[str, Any]:
        return {
            **AccountCreateBase.common_fields(account),
            "email": account.settings.get("email"),
            "password": secrets.get("password", ""),
            "region": account.region,
            "sessionid": secrets.get("sessionid"),
            "sessionid_expires_at": account.credential_expires_at,
            "api_base": account.settings.get("api_base"),
        }
