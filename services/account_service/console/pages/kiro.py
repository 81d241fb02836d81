"""The Kiro tokens section's own forms (its list is `accounts.section`): add a token, import
KiroGate-style JSON with a verdict per entry, and edit an account's credential.

Each form calls what its `/api/v1/accounts` endpoint calls (`service.add_account`,
`transfer.import_kiro`, `updating.update_account`), so the schema's and the service's rules are the
API's. Secrets typed into a form are never written back into a page: after an error, the refresh token
and client secret fields come back empty, with a note to paste them again."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import Response

from services.account_service.accounts import service, transfer
from services.account_service.accounts.rules import KIRO_REGIONS
from services.account_service.accounts.schemas import (
    AccountUpdate,
    KiroCreate,
    KiroImport,
)
from services.account_service.accounts.updating import update_account
from services.account_service.console import forms, web
from services.account_service.console.deps import ConsoleSession
from services.account_service.console.i18n import _
from services.account_service.console.pages.accounts import section, with_notice
from services.account_service.console.pages.auth import local_target
from services.account_service.deps import Box, Days, Tx
from shared.errors import NotFound

router = APIRouter()

ADD_FIELDS = ("name", "refresh_token", "client_id", "client_secret", "region")
IMPORT_FIELDS = ("text", "file", "default_region")
EDIT_FIELDS = ("name", "refresh_token", "client_id", "client_secret", "region", "remove_client")
# The region selects' options (the list's own context has no place for them).
web.env.globals["kiro_region_options"] = tuple((region, region) for region in KIRO_REGIONS)
# Form limits: above the schema's, so the schema's own message shows next to the field.
_SECRET_MAX = 20_000


@router.post("/kiro/add")
async def add_kiro(
    request: Request,
    conn: Tx,
    box: Box,
    days: Days,
    session: ConsoleSession,
    refresh_token: Annotated[str, Form(max_length=_SECRET_MAX)] = "",
    client_id: Annotated[str, Form(max_length=_SECRET_MAX)] = "",
    client_secret: Annotated[str, Form(max_length=_SECRET_MAX)] = "",
    region: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    async with forms.attempt(conn, ADD_FIELDS) as tried:
        spec = KiroCreate.model_validate(
            {
                "refresh_token": refresh_token,
                "client_id": client_id or None,
                "client_secret": client_secret or None,
                "region": region or None,
                "name": name or None,
            }
        )
        await service.add_account(conn, box, actor=session.actor, spec=spec)
    if tried.errors:
        # The client id is not a secret one pastes again: it stays; the token and the secret do not.
        values = {
            "name": name,
            "region": region,
            "client_id": client_id,
            "client_secret_given": bool(client_secret),
        }
        form = {"errors": tried.errors, "values": values, "open": True}
        return await section(request, conn, box, days, session, "kiro", status_code=422, add=form)
    return web.redirect("/kiro?notice=created", request=request)


@router.post("/kiro/import")
async def import_kiro(
    request: Request,
    conn: Tx,
    box: Box,
    days: Days,
    session: ConsoleSession,
    text: Annotated[str, Form()] = "",  # KiroImport checks its length
    file: Annotated[UploadFile | None, File()] = None,
    default_region: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Pasted JSON or an uploaded file (not both): the verdict of each entry is shown at once (nothing
    to redirect to), while the good entries are stored."""
    values = {"default_region": default_region}
    report = None
    async with forms.attempt(conn, IMPORT_FIELDS) as tried:
        pasted = await forms.pasted_or_uploaded(text, file)
        body = KiroImport(text=pasted, default_region=default_region or None)
        report = await transfer.import_kiro(conn, box, actor=session.actor, owner=None, body=body)
    errors = tried.errors
    form: dict[str, Any] = {"errors": errors, "values": values, "report": report}
    return await section(
        request, conn, box, days, session, "kiro", status_code=422 if errors else 200, **{"import": form}
    )


async def _kiro_account(conn, box, days, session, account_id: UUID):
    """The account as the list shows it, if it is a Kiro account the session may see (another user's
    is as missing as an unknown one)."""
    account = await service.get_account(conn, actor=session.actor, account_id=account_id)
    if account.kind != "kiro":
        raise NotFound("no such Kiro account", param="account_id")
    return (await service.present(conn, box, [account], today=days.today()))[0]


def _edit_page(request: Request, account, *, next_url: str, status_code: int = 200, **form) -> Response:
    form = {"errors": {}, "values": {"name": account.name, "region": account.region}} | form
    return web.render(
        request, "accounts/kiro_edit.html", status_code=status_code, a=account, next_url=next_url, **form
    )


@router.get("/kiro/{account_id}/edit")
async def edit_form(
    request: Request,
    account_id: UUID,
    conn: Tx,
    box: Box,
    days: Days,
    session: ConsoleSession,
    next: str = "/kiro",
) -> Response:
    account = await _kiro_account(conn, box, days, session, account_id)
    return _edit_page(request, account, next_url=local_target(next))


@router.post("/kiro/{account_id}/edit")
async def edit(
    request: Request,
    account_id: UUID,
    conn: Tx,
    box: Box,
    days: Days,
    session: ConsoleSession,
    refresh_token: Annotated[str, Form(max_length=_SECRET_MAX)] = "",
    client_id: Annotated[str, Form(max_length=_SECRET_MAX)] = "",
    client_secret: Annotated[str, Form(max_length=_SECRET_MAX)] = "",
    remove_client: Annotated[bool, Form()] = False,
    region: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/kiro",
) -> Response:
    """Through `update_account`, as `PATCH /api/v1/accounts/{id}`: only what the form changes is sent
    (an empty secret field keeps the stored secret), and a new credential is validated again."""
    account = await _kiro_account(conn, box, days, session, account_id)
    errors: dict[str, str] = {}
    if remove_client and (client_id or client_secret):
        errors["remove_client"] = _("Leave the client id and secret empty to remove the IdC client.")
    else:
        async with forms.attempt(conn, EDIT_FIELDS) as tried:
            change = _changes(
                account,
                name=name,
                region=region,
                refresh_token=refresh_token,
                client_id=client_id,
                client_secret=client_secret,
                remove_client=remove_client,
            )
            await update_account(
                conn, box, actor=session.actor, account_id=account_id, update=AccountUpdate(**change)
            )
        errors = tried.errors
    target = local_target(next)
    if errors:
        values = {
            "name": name,
            "region": region,
            "client_id": client_id,
            "client_secret_given": bool(client_secret),
            "remove_client": remove_client,
        }
        return _edit_page(request, account, next_url=target, status_code=422, errors=errors, values=values)
    return web.redirect(with_notice(target, "updated"), request=request)


def _changes(account, **form: Any) -> dict[str, Any]:
    """The fields of an AccountUpdate this form's values change. The name only when it was edited (an
    unchanged default name keeps following the token); a secret only when a new one was typed."""
    change: dict[str, Any] = {}
    if form["name"].strip() != account.name:
        change["name"] = form["name"] or None
    if form["region"] and form["region"] != account.region:
        change["region"] = form["region"]
    for secret in ("refresh_token", "client_id", "client_secret"):
        if form[secret]:
            change[secret] = form[secret]
    if form["remove_client"]:
        change |= {"client_id": None, "client_secret": None}
    return change
