"""The Dreamina section's own forms (its list, sorting, filters and row actions are `accounts.py`'s):
add one account, import many in the import format, export them all in that format.

Each form calls what its `/api/v1/accounts/dreamina` endpoint calls (`service.create_account`,
`transfer.import_dreamina`, `transfer.export_dreamina`), so the rules (a cn account needs a
sessionid, one e-mail per owner) and their messages are the API's. A secret typed into a form never
comes back in a page: a form that failed keeps its e-mail, region and weight only, and the import
keeps none of its text.

The export is a POST with the session's CSRF token rather than a link: the file holds every password
and sessionid, so only a deliberate click on this page makes one (a link can be followed from
another site, since `SameSite=Lax` cookies go with top-level navigations, and be prefetched or
kept in history); the answer is `no-store`, like every console page."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Form, Request, UploadFile
from starlette.responses import Response

from services.account_service.accounts import repository, service, transfer
from services.account_service.accounts.schemas import DreaminaImport, ImportReport
from services.account_service.accounts.transfer_endpoints import dreamina_download
from services.account_service.console import forms, web
from services.account_service.console.deps import ConsoleSession
from services.account_service.console.pages.accounts import section
from services.account_service.deps import Box, Days, PrivateUpstreamsAllowed, Tx
from services.account_service.users.service import resolve_owner

router = APIRouter()

_ADD_FIELDS = frozenset({"email", "password", "region", "sessionid", "weight"})
_IMPORT_FIELDS = frozenset({"text", "file"})


@router.get("/dreamina/add")
@router.get("/dreamina/import")
async def back_to_list(request: Request) -> Response:
    """A form that came back (with errors, or the import's result) shows the page at the form's URL,
    whose list links (sort, filters, pages) are relative: they lead here, and on to the list."""
    query = request.url.query
    return web.redirect("/dreamina" + (f"?{query}" if query else ""))


@router.post("/dreamina/add")
async def add(
    request: Request,
    conn: Tx,
    box: Box,
    days: Days,
    session: ConsoleSession,
    allow_private: PrivateUpstreamsAllowed,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
    sessionid: Annotated[str, Form()] = "",
    weight: Annotated[str, Form()] = "",
) -> Response:
    data: dict[str, Any] = {"email": email, "password": password, "region": region, "sessionid": sessionid}
    if weight.strip():
        data["weight"] = weight.strip()  # blank: the default weight
    async with forms.attempt(conn, _ADD_FIELDS) as tried:
        spec = service.parse_spec("dreamina", data)
        await service.add_account(
            conn, box, actor=session.actor, spec=spec, allow_private_upstreams=allow_private
        )
    if tried.errors:
        values = {"email": email, "region": region, "weight": weight}  # never the password or sessionid
        add = {"errors": tried.errors, "values": values, "open": True}
        return await section(request, conn, box, days, session, "dreamina", status_code=422, add=add)
    return web.redirect("/dreamina?notice=created", request=request)


@router.post("/dreamina/import")
async def import_lines(
    request: Request,
    conn: Tx,
    box: Box,
    days: Days,
    session: ConsoleSession,
    text: Annotated[str, Form()] = "",
    file: UploadFile | None = None,
) -> Response:
    """The lines pasted or the file chosen: every good line stored, each refused one reported."""
    async with forms.attempt(conn, _IMPORT_FIELDS) as tried:
        body = DreaminaImport(text=await forms.pasted_or_uploaded(text, file))
        owner = await resolve_owner(conn, actor=session.actor, username=None)
        report = await transfer.import_dreamina(conn, box, owner=owner, body=body)
    if tried.errors:
        batch = {"errors": tried.errors, "open": True}
        return await section(request, conn, box, days, session, "dreamina", status_code=422, batch=batch)
    batch = {"report": report, "names": await _names(conn, report)}
    return await section(request, conn, box, days, session, "dreamina", batch=batch)


async def _names(conn: asyncpg.Connection, report: ImportReport) -> dict[UUID, str]:
    """The imported accounts' names (their e-mails), by id, for the result's table."""
    ids = [line.account_id for line in report.results if line.account_id is not None]
    return {
        account_id: account.name
        for account_id, account in (await repository.get_many(conn, account_ids=ids)).items()
    }


@router.post("/dreamina/export")
async def export(
    conn: Tx, box: Box, session: ConsoleSession, owner: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """The accounts of this list's owner (an admin's list with no owner chosen: everyone's), in the
    import's format: `email:password:region:sessionid` lines."""
    owner_id = await service.owner_scope(conn, actor=session.actor, owner=owner.strip() or None)
    response = dreamina_download(await transfer.export_dreamina(conn, box, owner_id=owner_id))
    response.headers.update(web.SECURITY_HEADERS)
    return response
