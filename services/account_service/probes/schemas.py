"""A probe's result, as the worker reports it and as the API shows it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

DETAIL_LIMIT = 200


class ProbeOut(BaseModel):
    at: datetime
    ok: bool
    latency_ms: int | None = Field(description="How long the upstream took to answer")
    status: int | None = Field(description="The upstream's HTTP status, if it answered")
    method: str = Field(
        description="What was asked: models (a listing), max_tokens_1, list_available_models, liveness"
    )
    detail: str | None = Field(description="What it found, short, secrets removed")
    reenabled: bool = Field(description="Whether this probe brought a cooling or exhausted account back")


class ProbeList(BaseModel):
    probe_enabled: bool
    probe_interval_s: int
    items: list[ProbeOut]


class ProbeQueued(BaseModel):
    account_id: str
    requested_by: str


class ProbeReport(BaseModel):
    """What the worker found (internal API)."""

    at: datetime
    ok: bool
    latency_ms: int | None = Field(default=None, ge=0)
    status: int | None = Field(default=None, ge=100, le=599)
    method: str = Field(min_length=1, max_length=40)
    detail: str | None = Field(default=None, max_length=DETAIL_LIMIT)
