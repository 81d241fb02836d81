"""Long actions over many accounts: started by a request (the job and one item per account, in the
request's transaction), worked through in chunks by `runner.JobRunner`, read back with each account's
result. Nothing here commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from services.account_service.accounts import repository as accounts
from services.account_service.accounts.schemas import Account
from services.account_service.accounts.service import queue_refresh
from services.account_service.jobs import repository
from services.account_service.jobs.schemas import ACTIONS, ItemState, Job, JobItem, RefreshJobCreate
from services.account_service.outbox.writer import record
from services.account_service.users.schemas import Actor
from services.account_service.users.service import owner_scope
from shared.errors import NotFound
from shared.logging import get_correlation_id, set_correlation_id
from shared.messages.contracts import JobFinished, JobProgressed

# Finished jobs are kept this long for reading back.
KEEP = timedelta(days=7)


async def start_refresh(
    conn: asyncpg.Connection, *, actor: Actor, owner: str | None, spec: RefreshJobCreate, now: datetime
) -> Job:
    """A job that asks the worker to refresh every account the scope takes (the actor's own, or for
    admins everyone's or the named owner's). One with no account is finished at once."""
    owner_id = await owner_scope(conn, actor=actor, owner=owner)
    params = spec.model_dump(exclude_none=True) | ({"owner": owner} if owner else {})
    if spec.scope != "due":
        params.pop("due_within_hours")
    job_id = await repository.insert(
        conn,
        action=ACTIONS[spec.scope],
        user_id=actor.user_id,
        params=params,
        correlation_id=get_correlation_id(),
    )
    total = await repository.add_refresh_items(
        conn,
        job_id=job_id,
        scope=spec.scope,
        owner_id=owner_id,
        kind=spec.kind,
        due_before=now + timedelta(hours=spec.due_within_hours),
    )
    if total == 0:
        return await _settle(conn, job_id=job_id, results=[])
    job = await repository.get(conn, job_id=job_id)
    assert job is not None  # inserted by this transaction
    return job


async def get_job(conn: asyncpg.Connection, *, actor: Actor, job_id: UUID) -> Job:
    """The job if the actor asked for it (admins: any job); another user's is as missing as none."""
    job = await repository.get(conn, job_id=job_id)
    if job is None or not actor.may_see(job.user_id):
        raise NotFound("no such job", param="job_id")
    return job


async def list_jobs(
    conn: asyncpg.Connection, *, actor: Actor, page: int, per_page: int
) -> tuple[list[Job], int]:
    return await repository.search(
        conn,
        user_id=None if actor.is_admin else actor.user_id,
        limit=per_page,
        offset=(page - 1) * per_page,
    )


async def job_items(conn: asyncpg.Connection, *, job: Job, page: int, per_page: int) -> list[JobItem]:
    return await repository.items(conn, job_id=job.id, limit=per_page, offset=(page - 1) * per_page)


async def prune_finished(conn: asyncpg.Connection, *, now: datetime) -> int:
    return await repository.prune(conn, finished_before=now - KEEP)


async def work_chunk(conn: asyncpg.Connection, *, limit: int) -> Job | None:
    """The next `limit` accounts of the oldest running job that no other replica holds, with their
    results and the job's progress event (and `job.finished` after its last account); None when no job
    is waiting."""
    job = await repository.claim_running(conn)
    if job is None:
        return None
    # The job's events carry the correlation id of the request that started it (the runner's own task
    # context, so no request's id is touched).
    set_correlation_id(job.correlation_id)
    items = await repository.pending_items(conn, job_id=job.id, limit=limit)
    found = await accounts.get_many(conn, account_ids=[item.account_id for item in items])
    results = []
    for item in items:
        state, reason = await _refresh(conn, found.get(item.account_id), requested_by=job.requested_by)
        results.append((item.position, state, reason))
    return await _settle(conn, job_id=job.id, results=results)


async def _refresh(
    conn: asyncpg.Connection, account: Account | None, *, requested_by: str
) -> tuple[ItemState, str | None]:
    if account is None:
        return "skipped", "the account was deleted"
    if account.status == "disabled":
        return "skipped", "the account was disabled"
    await queue_refresh(conn, account=account, requested_by=requested_by)
    return "queued", None


async def _settle(
    conn: asyncpg.Connection, *, job_id: UUID, results: list[tuple[int, ItemState, str | None]]
) -> Job:
    job = await repository.settle_items(
        conn,
        job_id=job_id,
        positions=[position for position, _, _ in results],
        states=[state for _, state, _ in results],
        reasons=[reason for _, _, reason in results],
    )
    counts = {
        "job_id": str(job.id),
        "action": job.action,
        "user_id": str(job.user_id),
        "total": job.total,
        "queued": job.queued,
        "skipped": job.skipped,
    }
    if results:
        await record(conn, JobProgressed(**counts))
    if job.status == "finished":
        await record(conn, JobFinished(**counts))
    return job
