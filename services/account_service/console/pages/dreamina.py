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
from pydantic import ValidationError
from starlette.responses import Response

from services.account_service.accounts import repository, service, transfer
from services.account_service.accounts.schemas import DreaminaImport, ImportReport, validation_error
from services.account_service.accounts.transfer_endpoints import dreamina_download
from services.account_service.console import web
from services.account_service.console.deps import ConsoleSession
from services.account_service.console.i18n import _
from services.account_service.console.pages.accounts import section
from services.account_service.deps import Box, Days, PrivateUpstreamsAllowed, Tx
from services.account_service.users.service import resolve_owner
from shared.errors import PoolGateError, Unprocessable

router = APIRouter()

_ADD_FIELDS = frozenset({"email", "password", "region", "sessionid", "weight"})
_IMPORT_FIELDS = frozenset({"text", "file"})


def form_errors(exc: PoolGateError, fields: frozenset[str]) -> dict[str, str]:
    """A refusal as `{field: message}` for the form: next to the field it names (without the field's
    name in front: it sits beside it), or above the form (`form`) when it names none of them."""
    if exc.param in fields:
        return {exc.param: exc.message.removeprefix(f"{exc.param}: ")}
    return {"form": exc.message}


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
    try:
        spec = service.parse_spec("dreamina", data)
        owner = await resolve_owner(conn, actor=session.actor, username=None)
        async with conn.transaction():  # a savepoint: a refused insert leaves the page's transaction usable
            await service.create_account(
                conn, box, owner=owner, spec=spec, allow_private_upstreams=allow_private
            )
    except PoolGateError as exc:
        values = {"email": email, "region": region, "weight": weight}  # never the password or sessionid
        add = {"errors": form_errors(exc, _ADD_FIELDS), "values": values, "open": True}
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
    try:
        body = await _import_body(text, file)
        owner = await resolve_owner(conn, actor=session.actor, username=None)
        report = await transfer.import_dreamina(conn, box, owner=owner, body=body)
    except PoolGateError as exc:
        batch = {"errors": form_errors(exc, _IMPORT_FIELDS), "open": True}
        return await section(request, conn, box, days, session, "dreamina", status_code=422, batch=batch)
    batch = {"report": report, "names": await _names(conn, report)}
    return await section(request, conn, box, days, session, "dreamina", batch=batch)


async def _import_body(text: str, file: UploadFile | None) -> DreaminaImport:
    content = await file.read() if file is not None and file.filename else b""
    if content and text.strip():
        raise Unprocessable(_("Paste lines or choose a file, not both."), param="text")
    if content:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Unprocessable(_("This file is not UTF-8 text."), param="file") from None
    if not text.strip():
        raise Unprocessable(_("Paste at least one line, or choose a file."), param="text")
    try:
        return DreaminaImport(text=text)
    except ValidationError as exc:
        raise validation_error(exc) from None


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
