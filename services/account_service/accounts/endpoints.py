"""`/api/v1/accounts`: create, list, read, change, enable/disable, restore, delete, refresh one, and
refresh many (a job: answered 202 at once, its progress read at `/api/v1/jobs/{job_id}`)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Query, Response
from pydantic import BaseModel

from services.account_service.accounts import service
from services.account_service.accounts.schemas import (
    AccountCreateBase,
    AccountOut,
    AccountPage,
    AccountUpdate,
    CustomApiCreate,
    DreaminaCreate,
    Kind,
    KiroCreate,
    Status,
    Visibility,
)
from services.account_service.accounts.updating import update_account
from services.account_service.deps import (
    Box,
    CurrentUser,
    Days,
    Jobs,
    LiveHealth,
    LivePicker,
    PageNumber,
    PerPage,
    PrivateUpstreamsAllowed,
    Tx,
)
from services.account_service.jobs import service as jobs
from services.account_service.jobs.schemas import JobOut, RefreshJobCreate
from services.account_service.keys.schemas import Caller
from shared.crypto import SecretBox
from shared.day_boundary import DayBoundary

router = APIRouter(prefix="/accounts", tags=["accounts"])

OwnerQuery = Annotated[str | None, Query(description="Admins only: the owner's username")]


class RefreshRequested(BaseModel):
    account_id: UUID
    kind: Kind
    requested_by: str


async def _one(conn, box: SecretBox, days: DayBoundary, account) -> AccountOut:
    return (await service.present(conn, box, [account], today=days.today()))[0]


async def _create(
    conn,
    box: SecretBox,
    days: DayBoundary,
    caller: Caller,
    owner: str | None,
    spec: AccountCreateBase,
    *,
    allow_private: bool = False,
) -> AccountOut:
    account = await service.add_account(
        conn, box, actor=caller, owner=owner, spec=spec, allow_private_upstreams=allow_private
    )
    return await _one(conn, box, days, account)


@router.post("/kiro", status_code=201, summary="Add a Kiro account (pending until a refresh validates it)")
async def create_kiro(
    spec: KiroCreate, conn: Tx, box: Box, days: Days, caller: CurrentUser, owner: OwnerQuery = None
) -> AccountOut:
    return await _create(conn, box, days, caller, owner, spec)


@router.post("/custom_api", status_code=201, summary="Add an OpenAI- or Claude-format endpoint")
async def create_custom_api(
    spec: CustomApiCreate,
    conn: Tx,
    box: Box,
    days: Days,
    caller: CurrentUser,
    allow_private: PrivateUpstreamsAllowed,
    owner: OwnerQuery = None,
) -> AccountOut:
    return await _create(conn, box, days, caller, owner, spec, allow_private=allow_private)


@router.post("/dreamina", status_code=201, summary="Add a Dreamina account")
async def create_dreamina(
    spec: DreaminaCreate,
    conn: Tx,
    box: Box,
    days: Days,
    caller: CurrentUser,
    allow_private: PrivateUpstreamsAllowed,
    owner: OwnerQuery = None,
) -> AccountOut:
    return await _create(conn, box, days, caller, owner, spec, allow_private=allow_private)


@router.post(
    "/refresh",
    status_code=202,
    summary="Refresh many accounts (all due, all, or the unavailable ones): a job; read its progress and "
    "each account's result at /api/v1/jobs/{job_id}",
)
async def refresh_accounts(
    spec: RefreshJobCreate,
    conn: Tx,
    caller: CurrentUser,
    days: Days,
    runner: Jobs,
    background: BackgroundTasks,
    response: Response,
    owner: OwnerQuery = None,
) -> JobOut:
    job = await jobs.start_refresh(conn, actor=caller, owner=owner, spec=spec, now=days.now())
    background.add_task(runner.wake)  # after the answer, so after the commit that stored the job
    response.headers["location"] = f"/api/v1/jobs/{job.id}"
    return JobOut.of(job)


@router.get("", summary="List accounts (own; admins: all, or one owner's)")
async def list_accounts(
    conn: Tx,
    box: Box,
    days: Days,
    caller: CurrentUser,
    page: PageNumber = 1,
    per_page: PerPage = 50,
    kind: Kind | None = None,
    status: Status | None = None,
    region: str | None = None,
    visibility: Visibility | None = None,
    owner: OwnerQuery = None,
    sort: Annotated[
        str,
        Query(
            max_length=20,
            description="created, name, status, region, weight, successes, failures, last_used, expires,"
            " credits or last_check; a leading - sorts descending",
        ),
    ] = "-created",
) -> AccountPage:
    accounts, total = await service.list_accounts(
        conn,
        actor=caller,
        owner=owner,
        kind=kind,
        status=status,
        region=region,
        visibility=visibility,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    items = await service.present(conn, box, accounts, today=days.today())
    return AccountPage(items=items, page=page, per_page=per_page, total=total)


@router.get("/{account_id}", summary="Read one account (secrets masked)")
async def get_account(account_id: UUID, conn: Tx, box: Box, days: Days, caller: CurrentUser) -> AccountOut:
    account = await service.get_account(conn, actor=caller, account_id=account_id)
    return await _one(conn, box, days, account)


@router.patch(
    "/{account_id}", summary="Change an account (name, weight, ...); a new credential is validated again"
)
async def patch_account(
    account_id: UUID,
    update: AccountUpdate,
    conn: Tx,
    box: Box,
    days: Days,
    caller: CurrentUser,
    allow_private: PrivateUpstreamsAllowed,
) -> AccountOut:
    account = await update_account(
        conn, box, actor=caller, account_id=account_id, update=update, allow_private_upstreams=allow_private
    )
    return await _one(conn, box, days, account)


@router.post("/{account_id}/enable", summary="Make a disabled, invalid or exhausted account usable again")
async def enable_account(account_id: UUID, conn: Tx, box: Box, days: Days, caller: CurrentUser) -> AccountOut:
    account = await service.set_enabled(conn, box, actor=caller, account_id=account_id, enabled=True)
    return await _one(conn, box, days, account)


@router.post(
    "/{account_id}/restore",
    summary="Make an account usable at once: out of disabled, invalid or exhausted, and its cooldown and "
    "recent failures forgotten",
)
async def restore_account(
    account_id: UUID,
    conn: Tx,
    box: Box,
    days: Days,
    caller: CurrentUser,
    picker: LivePicker,
    health: LiveHealth,
) -> AccountOut:
    account = await service.restore_account(
        conn, box, picker=picker, health=health, actor=caller, account_id=account_id
    )
    return await _one(conn, box, days, account)


@router.post("/{account_id}/disable", summary="Take an account out of use")
async def disable_account(
    account_id: UUID, conn: Tx, box: Box, days: Days, caller: CurrentUser
) -> AccountOut:
    account = await service.set_enabled(conn, box, actor=caller, account_id=account_id, enabled=False)
    return await _one(conn, box, days, account)


@router.delete("/{account_id}", status_code=204, response_class=Response, summary="Delete an account")
async def delete_account(account_id: UUID, conn: Tx, caller: CurrentUser) -> Response:
    await service.delete_account(conn, actor=caller, account_id=account_id)
    return Response(status_code=204)


@router.post(
    "/{account_id}/refresh",
    status_code=202,
    summary="Ask for the credential to be refreshed (kiro) or revalidated (dreamina) now: queued for the "
    "worker, whose result shows as the account's last_check",
)
async def refresh_account(account_id: UUID, conn: Tx, caller: CurrentUser) -> RefreshRequested:
    account = await service.request_refresh(conn, actor=caller, account_id=account_id)
    return RefreshRequested(account_id=account.id, kind=account.kind, requested_by=caller.username)
