"""`/api/v1/accounts/{kiro,dreamina}/{import,export}`: bulk import with a verdict per line; export in the
format the import reads, secrets and all: Dreamina accounts by their owner (admins: everyone's or one
owner's), Kiro accounts by admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from services.account_service.accounts import transfer
from services.account_service.accounts.schemas import (
    DreaminaImport,
    ImportReport,
    KiroExportEntry,
    KiroImport,
)
from services.account_service.deps import AdminUser, Box, CurrentUser, Tx
from services.account_service.openapi import JSON_ERROR_RESPONSES
from services.account_service.users.service import get_user, owner_scope, resolve_owner

router = APIRouter(prefix="/accounts", tags=["import and export"])

OwnerQuery = Annotated[str | None, Query(description="Admins only: the owner's username")]


@router.post(
    "/kiro/import",
    response_model_exclude_none=True,
    summary="Import Kiro tokens (lines or JSON); a result per line, good lines stored even if others fail",
)
async def import_kiro(
    body: KiroImport, conn: Tx, box: Box, caller: CurrentUser, owner: OwnerQuery = None
) -> ImportReport:
    return await transfer.import_kiro(conn, box, actor=caller, owner=owner, body=body)


@router.post(
    "/dreamina/import",
    response_model_exclude_none=True,
    summary="Import Dreamina lines email:password:region[:sessionid]; a result per line",
)
async def import_dreamina(
    body: DreaminaImport, conn: Tx, box: Box, caller: CurrentUser, owner: OwnerQuery = None
) -> ImportReport:
    user = await resolve_owner(conn, actor=caller, username=owner)
    return await transfer.import_dreamina(conn, box, owner=user, body=body)


async def _owner_id(conn, owner: str | None):
    return None if owner is None else (await get_user(conn, username=owner)).id


@router.get("/kiro/export", summary="Export Kiro accounts as JSON (admins; contains secrets)")
async def export_kiro(conn: Tx, box: Box, _: AdminUser, owner: OwnerQuery = None) -> list[KiroExportEntry]:
    entries = await transfer.export_kiro(conn, box, owner_id=await _owner_id(conn, owner))
    return [KiroExportEntry.model_validate(e) for e in entries]


@router.get(
    "/dreamina/export",
    response_class=PlainTextResponse,
    responses=JSON_ERROR_RESPONSES,
    summary="Export Dreamina accounts as email:password:region:sessionid lines, the import's format "
    "(own; admins: everyone's, or one owner's; contains secrets)",
)
async def export_dreamina(
    conn: Tx, box: Box, caller: CurrentUser, owner: OwnerQuery = None
) -> PlainTextResponse:
    owner_id = await owner_scope(conn, actor=caller, owner=owner)
    return dreamina_download(await transfer.export_dreamina(conn, box, owner_id=owner_id))


def dreamina_download(text: str) -> PlainTextResponse:
    """The export as a file to save (the console's export button answers the same): passwords and
    sessionids, so no cache keeps a copy."""
    return PlainTextResponse(
        text,
        headers={
            "content-disposition": 'attachment; filename="dreamina_accounts.txt"',
            "cache-control": "no-store",
        },
    )
