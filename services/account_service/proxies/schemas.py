from __future__ import annotations

import re
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.egress import shown_url

Scheme = Literal["http", "https", "socks5"]
_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]_]+$")
_REGION = re.compile(r"^[a-z0-9\-]{1,32}$")


def _check_host(value: str) -> str:
    value = value.strip().strip("[]")
    if not value or not _HOST.match(value) or len(value) > 253:
        raise ValueError("must be a host name or IP address (no scheme, path or credentials)")
    return value


def _check_region(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if not value:
        return None
    if not _REGION.match(value):
        raise ValueError("must be 1-32 lower-case letters, digits or '-' (e.g. us, us-east-1)")
    return value


class ProxyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scheme: Scheme = "http"
    host: str
    port: int = Field(ge=1, le=65535)
    username: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, max_length=255, description="Stored encrypted; never shown")
    region: str | None = Field(default=None, description="Optional: the region the proxy exits in")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return _check_host(value)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return _check_region(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class ProxyUpdate(BaseModel):
    """Changes; an absent field is left alone, `password: ""` or `username: ""` removes it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    scheme: Scheme | None = None
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    username: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, max_length=255)
    region: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return None if value is None else value.strip()

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return None if value is None else _check_host(value)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return None if value is None else (_check_region(value) or "")


class StoredProxy(BaseModel):
    """A proxy as stored (password still encrypted)."""

    id: UUID
    user_id: UUID
    name: str
    scheme: Scheme
    host: str
    port: int
    username: str | None
    password: str | None = Field(default=None, repr=False)
    region: str | None
    healthy: bool | None
    last_error: str | None
    last_checked_at: datetime | None
    latency_ms: float | None
    exit_ip: str | None
    exit_country: str | None
    created_at: datetime
    updated_at: datetime
    accounts: int = 0


class Proxy(BaseModel):
    """A proxy as shown: never its password; `url` redacted."""

    id: UUID
    user_id: UUID
    name: str
    scheme: Scheme
    host: str
    port: int
    username: str | None
    has_password: bool
    url: str = Field(description="The proxy's URL, password redacted")
    region: str | None
    healthy: bool | None = Field(description="None: never tested or used yet")
    last_error: str | None
    last_checked_at: datetime | None
    latency_ms: float | None
    exit_ip: str | None
    exit_country: str | None
    accounts: int = Field(description="How many accounts use it")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, stored: StoredProxy) -> Proxy:
        data = stored.model_dump(exclude={"password"})
        has_password = stored.password is not None
        url = shown_url(stored.scheme, stored.host, stored.port, stored.username, has_password)
        return cls(**data, has_password=has_password, url=url)


class ProxyTest(BaseModel):
    ok: bool
    latency_ms: float | None = None
    exit_ip: str | None = None
    exit_country: str | None = None
    error: str | None = None
    proxy: Proxy


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_ids: list[UUID] = Field(min_length=1, max_length=1000)


class AutoAssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_per_proxy: int = Field(ge=1, le=10000, description="At most this many accounts per proxy")
    same_region_only: bool = Field(
        default=False, description="Only a proxy whose region is the account's own"
    )


class Assignment(BaseModel):
    assigned: list[UUID] = Field(description="The accounts now on a proxy")
    proxy_ids: list[UUID | None] = Field(default_factory=list, description="Each assigned account's proxy")
    left: int = Field(default=0, description="Unassigned accounts no proxy had room for")
