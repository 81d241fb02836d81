"""Jobs (every user's own; an admin sees everyone's):
the list, one job's progress and per-account results, and the three Dreamina refresh jobs. A running
job's numbers are a fragment the page fetches again every 2 seconds until it finishes (htmx)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.responses import Response

from services.account_service.accounts.schemas import validation_error
from services.account_service.console import web
from services.account_service.console.deps import ConsoleSession
from services.account_service.deps import Days, Jobs, PageNumber, Tx
from services.account_service.jobs import service
from services.account_service.jobs.schemas import RefreshJobCreate

router = APIRouter(prefix="/jobs")

JOBS_PER_PAGE = 50
ITEMS_PER_PAGE = 100


async def _list(conn, session, page: int) -> dict[str, Any]:
    jobs, total = await service.list_jobs(conn, actor=session.actor, page=page, per_page=JOBS_PER_PAGE)
    return {"jobs": jobs, "total": total, "page": page, "per_page": JOBS_PER_PAGE}


@router.get("")
async def jobs(request: Request, conn: Tx, session: ConsoleSession, page: PageNumber = 1) -> Response:
    return web.render(request, "jobs.html", **await _list(conn, session, page))


@router.get("/table")
async def jobs_table(request: Request, conn: Tx, session: ConsoleSession, page: PageNumber = 1) -> Response:
    """The list alone, fetched again while a job in it runs."""
    return web.render(request, "_jobs_table.html", **await _list(conn, session, page))


@router.post("")
async def start_job(
    request: Request,
    conn: Tx,
    days: Days,
    runner: Jobs,
    session: ConsoleSession,
    scope: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    """One of the Dreamina jobs: every due account, every account (force), or the unavailable ones
    (the caller's own; an admin's: everyone's), as `POST /api/v1/accounts/refresh` starts them."""
    try:
        spec = RefreshJobCreate(scope=scope, kind="dreamina")  # type: ignore[arg-type]
    except ValidationError as exc:
        raise validation_error(exc) from exc
    job = await service.start_refresh(conn, actor=session.actor, owner=None, spec=spec, now=days.now())
    response = web.redirect(f"/jobs/{job.id}", request=request)
    response.background = BackgroundTask(runner.wake)  # after the answer, so after the commit
    return response


async def _detail(conn, session, job_id: UUID, page: int) -> dict[str, Any]:
    job = await service.get_job(conn, actor=session.actor, job_id=job_id)
    items = await service.job_items(conn, job=job, page=page, per_page=ITEMS_PER_PAGE)
    return {"job": job, "items": items, "page": page, "per_page": ITEMS_PER_PAGE}


@router.get("/{job_id}")
async def job(
    request: Request, job_id: UUID, conn: Tx, session: ConsoleSession, page: PageNumber = 1
) -> Response:
    return web.render(request, "job.html", **await _detail(conn, session, job_id, page))


@router.get("/{job_id}/progress")
async def job_progress(
    request: Request, job_id: UUID, conn: Tx, session: ConsoleSession, page: PageNumber = 1
) -> Response:
    """The job's numbers and results alone, fetched again while it runs."""
    return web.render(request, "_job_progress.html", **await _detail(conn, session, job_id, page))
