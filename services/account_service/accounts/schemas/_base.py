"""What a client sends to create an account of each kind, validated by the kind's rules.

Every model knows how to split itself into what is stored: `settings()` (non-secret JSON),
`secrets()` (encrypted as one token) and `stored_region()`; `stored_fields()` goes the other way,
so an update is validated as "the stored account with the changes applied".
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from services.account_service.accounts import rules
from services.account_service.accounts.schemas._stored import Account, Visibility
from shared.errors import Unprocessable

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TOKEN = re.compile(r"[^\s\x00-\x1f\x7f]+")  # one word of printable characters
# No ':' (the import format's separator) and no leading '#' (an import comment line).
EMAIL = re.compile(r"[^\s@:#\x00-\x1f\x7f][^\s@:\x00-\x1f\x7f]*@[^\s@:\x00-\x1f\x7f]+")


def rule_error(model: str, violation: rules.RuleViolation) -> ValidationError:
    """A rule broken by the model as a whole, reported against the field that has to change."""
    error = PydanticCustomError("account_rule", "{message}", {"message": violation.message})
    return ValidationError.from_exception_data(
        model, [InitErrorDetails(type=error, loc=(violation.field,), input=None)]
    )


def validation_error(exc: ValidationError) -> Unprocessable:
    """The first problem of a pydantic error, as a 422 naming the field."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    message = first["msg"].removeprefix("Value error, ")
    return Unprocessable(f"{field}: {message}" if field else message, param=field)


def invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("account_value", "{message}", {"message": message})


def optional_text(value: str | None) -> str | None:
    """Trimmed; blank means absent; control characters are refused (they cannot be stored or exported)."""
    if value is None:
        return None
    value = value.strip()
    if CONTROL.search(value):
        raise invalid("must not contain control characters")
    return value or None


def http_url(value: str) -> str:
    """An upstream base URL: http(s) with a host, no control characters; without a trailing slash."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or CONTROL.search(value):
        raise invalid("api_base must be an http:// or https:// URL")
    return value.strip().rstrip("/")


def word(value: str | None) -> str | None:
    value = (value or "").strip() or None
    if value is not None and not TOKEN.fullmatch(value):
        raise invalid("must be one word without spaces or control characters")
    return value


class AccountCreateBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: ClassVar[str]

    name: str | None = Field(
        default=None, max_length=200, description="Defaults to a name derived from the kind"
    )
    visibility: Visibility = Field(
        default="private", description="`public` puts the account in the shared pool"
    )
    weight: int = Field(
        default=100, ge=0, le=10000, description="Relative share of the calls (0 = never chosen)"
    )
    max_concurrency: int = Field(default=32, ge=1, le=10000, description="Calls in flight at once at most")

    @field_validator("name")
    @classmethod
    def _clean_name(cls, value: str | None) -> str | None:
        return optional_text(value)

    def stored_region(self) -> str | None:
        return None

    def settings(self) -> dict[str, Any]:
        raise NotImplementedError

    def secrets(self) -> dict[str, Any]:
        raise NotImplementedError

    def display_name(self) -> str:
        raise NotImplementedError

    def credential_expires_at(self, now: datetime) -> datetime | None:
        return None

    @staticmethod
    def common_fields(account: Account) -> dict[str, Any]:
        return {
            "name": account.name,
            "visibility": account.visibility,
            "weight": account.weight,
            "max_concurrency": account.max_concurrency,
        }
