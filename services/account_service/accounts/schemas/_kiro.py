"""Creating a Kiro account: a refresh token of a region, social or IdC."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from services.account_service.accounts import rules
from services.account_service.accounts.schemas._base import AccountCreateBase, rule_error, word
from services.account_service.accounts.schemas._stored import Account, KiroAuthType


class KiroCreate(AccountCreateBase):
    kind: ClassVar[str] = "kiro"

    refresh_token: str = Field(min_length=1, max_length=16384, repr=False)
    auth_type: KiroAuthType | None = Field(
        default=None, description="`idc` needs client_id and client_secret; inferred from them when omitted"
    )
    client_id: str | None = Field(default=None, max_length=4096, repr=False)
    client_secret: str | None = Field(default=None, max_length=16384, repr=False)
    profile_arn: str | None = Field(default=None, max_length=2048)
    region: str | None = Field(
        default=None,
        description=f"The token's AWS region: {rules.allowed(rules.KIRO_REGIONS)} (default us-east-1)",
    )
    api_region: str | None = Field(default=None, description="AWS region of the chat host, when it differs")

    @field_validator("refresh_token", "client_id", "client_secret")
    @classmethod
    def _clean_secret(cls, value: str | None) -> str | None:
        return word(value)

    @field_validator("profile_arn")
    @classmethod
    def _clean_arn(cls, value: str | None) -> str | None:
        return word(value)

    @model_validator(mode="after")
    def _kiro_rules(self) -> KiroCreate:
        try:
            self.region = rules.kiro_region(self.region)
            self.api_region = rules.api_region(self.api_region)
            self.auth_type = rules.infer_kiro_auth_type(
                auth_type=self.auth_type, client_id=self.client_id, client_secret=self.client_secret
            )
            rules.check_kiro_auth(
                auth_type=self.auth_type, client_id=self.client_id, client_secret=self.client_secret
            )
        except rules.RuleViolation as violation:
            raise rule_error("KiroCreate", violation) from None
        if self.auth_type == "social":  # client credentials mean nothing to a social token
            self.client_id = self.client_secret = None
        return self

    def stored_region(self) -> str | None:
        return self.region

    def settings(self) -> dict[str, Any]:
        return {"auth_type": self.auth_type, "api_region": self.api_region, "profile_arn": self.profile_arn}

    def secrets(self) -> dict[str, Any]:
        found = {
            "refresh_token": self.refresh_token,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        return {k: v for k, v in found.items() if v is not None}

    def display_name(self) -> str:
        return self.name or rules.kiro_default_name(region=self.region, refresh_token=self.refresh_token)

    @staticmethod
    def stored_fields(account: Account, secrets: dict[str, Any]) -> dict[str, Any]:
        s = account.settings
        return {
            **AccountCreateBase.common_fields(account),
            "refresh_token": secrets.get("refresh_token"),
            "auth_type": s.get("auth_type"),
            "client_id": secrets.get("client_id"),
            "client_secret": secrets.get("client_secret"),
            "profile_arn": s.get("profile_arn"),
            "region": account.region,
            "api_region": s.get("api_region"),
        }
