"""Long actions over many accounts: as stored, as asked for, as shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.account_service.accounts.schemas import LastCheck
from shared.messages.contracts import JobAction

JobStatus = Literal["running", "finished"]
ItemState = Literal["pending", "queued", "skipped"]
RefreshScope = Literal["due", "all", "unavailable"]
ACTIONS: dict[str, JobAction] = {
    "due": "refresh_due",
    "all": "refresh_all",
    "unavailable": "refresh_unavailable",
}


class Job(BaseModel):
    id: UUID
    action: JobAction
    user_id: UUID
    requested_by: str = Field(description="The username of whoever asked")
    params: dict[str, Any]
    correlation_id: str | None = Field(default=None, exclude=True)
    status: JobStatus
    total: int
    queued: int
    skipped: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class JobItem(BaseModel):
    position: int
    account_id: UUID
    account_name: str
    state: ItemState
    reason: str | None
    done_at: datetime | None
    check: LastCheck | None = None


class RefreshJobCreate(BaseModel):
    """Which accounts to refresh (Kiro) or revalidate (Dreamina; a login only for accounts that can log
    in). Disabled accounts and custom API accounts are never part of it."""

    model_config = ConfigDict(extra="forbid")

    scope: RefreshScope = Field(
        description="`due`: credentials that expire within `due_within_hours` or have no known expiry; "
        "`all`: every account (force); `unavailable`: invalid, exhausted and pending accounts"
    )
    kind: Literal["kiro", "dreamina"] | None = Field(default=None, description="Only this kind")
    due_within_hours: float = Field(default=24.0, gt=0, le=8760, description="For `due` only")


class JobOut(BaseModel):
    id: UUID
    action: JobAction
    status: JobStatus
    user_id: UUID
    requested_by: str
    params: dict[str, Any]
    total: int = Field(description="Accounts the job acts on")
    done: int = Field(description="Accounts that have their result")
    queued: int = Field(description="Refreshes requested from the worker (its results show on each account)")
    skipped: int = Field(description="Accounts left alone, each with its reason")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(**job.model_dump(), done=job.queued + job.skipped)


class JobItemOut(BaseModel):
    account_id: UUID
    account_name: str
    state: ItemState = Field(
        description="pending: not reached yet; queued: a refresh was requested from the worker (not "
        "its result); skipped: left alone, see reason"
    )
    reason: str | None
    done_at: datetime | None
    check: LastCheck | None = Field(
        description="The account's credential check made after the refresh was queued, once there is one"
    )


class JobDetail(JobOut):
    items: list[JobItemOut] = Field(description="One page of the per-account results, in job order")
    page: int
    per_page: int


class JobPage(BaseModel):
    items: list[JobOut]
    page: int
    per_page: int
    total: int
