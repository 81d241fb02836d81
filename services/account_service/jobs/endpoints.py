"""`/api/v1/jobs`: long actions over many accounts, their progress and each account's result (own
jobs; admins: everyone's)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.account_service.deps import CurrentUser, PageNumber, PerPage, Tx
from services.account_service.jobs import service
from services.account_service.jobs.schemas import JobDetail, JobItemOut, JobOut, JobPage

router = APIRouter(prefix="/jobs", tags=["jobs"])

ItemsPerPage = Annotated[int, Query(ge=1, le=1000, description="Per-account results per page")]


@router.get("", summary="List jobs, newest first (own; admins: everyone's)")
async def list_jobs(conn: Tx, caller: CurrentUser, page: PageNumber = 1, per_page: PerPage = 50) -> JobPage:
    jobs, total = await service.list_jobs(conn, actor=caller, page=page, per_page=per_page)
    return JobPage(items=[JobOut.of(j) for j in jobs], page=page, per_page=per_page, total=total)


@router.get("/{job_id}", summary="A job's progress and one page of its per-account results")
async def get_job(
    job_id: UUID, conn: Tx, caller: CurrentUser, page: PageNumber = 1, per_page: ItemsPerPage = 200
) -> JobDetail:
    job = await service.get_job(conn, actor=caller, job_id=job_id)
    items = await service.job_items(conn, job=job, page=page, per_page=per_page)
    return JobDetail(
        **JobOut.of(job).model_dump(),
        items=[JobItemOut(**item.model_dump()) for item in items],
        page=page,
        per_page=per_page,
    )
