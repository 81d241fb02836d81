"""`/api/v1/accounts/{account_id}/probe` (run one now) and `/probes` (the recent results)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.account_service.deps import CurrentUser, Tx
from services.account_service.probes import service
from services.account_service.probes.schemas import ProbeList, ProbeQueued

router = APIRouter(prefix="/accounts", tags=["accounts"])


@router.post(
    "/{account_id}/probe",
    status_code=202,
    summary="Probe the account now (a models listing, a 1-token call or a liveness check): queued for "
    "the worker, whose result shows in /probes",
)
async def probe_account(account_id: UUID, conn: Tx, caller: CurrentUser) -> ProbeQueued:
    account = await service.request_probe(conn, actor=caller, account_id=account_id)
    return ProbeQueued(account_id=str(account.id), requested_by=caller.username)


@router.get("/{account_id}/probes", summary="The account's recent probe results, newest first")
async def list_probes(
    account_id: UUID,
    conn: Tx,
    caller: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100, description="How many results")] = 20,
) -> ProbeList:
    return await service.recent(conn, actor=caller, account_id=account_id, limit=limit)
