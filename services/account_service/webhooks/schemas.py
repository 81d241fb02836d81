from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

# What a webhook may ask for. `webhook.test` is not among them: a test goes to the webhook it tests.
AlertType = Literal[
    "account.invalid",
    "account.exhausted",
    "account.refresh_failed",
    "pool.unavailable",
    "api_key.limit_reached",
    "egress_proxy.unhealthy",
    "account.probe_failed",
]
ALERT_TYPES: tuple[str, ...] = AlertType.__args__
TEST_ALERT = "webhook.test"
URL_MAX_LENGTH = 2000

DeliveryStatus = Literal["pending", "delivered", "failed"]


def _check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError as exc:
        raise ValueError("has an invalid port") from exc
    return url


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=URL_MAX_LENGTH, description="Where alerts are POSTed (http or https)")
    alert_types: list[AlertType] = Field(
        default=list(ALERT_TYPES), min_length=1, description="The alerts it receives; default: all"
    )
    enabled: bool = True
    operator_wide: bool = Field(
        default=False, description="Admins only: receive every user's alerts, not only the owner's"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value)

    @field_validator("alert_types")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=URL_MAX_LENGTH)
    alert_types: list[AlertType] | None = Field(default=None, min_length=1)
    enabled: bool | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value)

    @field_validator("alert_types")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(dict.fromkeys(value))


class Webhook(BaseModel):
    """A webhook as listed: never its secret."""

    id: UUID
    user_id: UUID
    operator_wide: bool
    url: str
    alert_types: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class WebhookCreated(Webhook):
    secret: str = Field(description="The signing secret: shown only in this answer, stored encrypted")


class WebhookTarget(BaseModel):
    """A webhook an alert goes to, as the dispatcher needs it (secret still encrypted)."""

    id: UUID
    url: str
    secret: str = Field(repr=False)


class WebhookDelivery(BaseModel):
    id: UUID
    webhook_id: UUID
    alert_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    body: str = Field(description="The JSON body sent (the same for every attempt)")


class DueDelivery(BaseModel):
    """A delivery claimed for one attempt."""

    id: UUID
    webhook_id: UUID
    alert_type: str
    body: str
    attempts: int
    url: str
    secret: str = Field(repr=False)
