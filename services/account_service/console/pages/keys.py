"""API keys: create one, list them (prefix and use, never the key), enable, disable, delete, and
set a key's limits (keys/limits.py) on a page of its own.

A new key's plaintext is shown once, in the page that answers the form (never in a URL or a
redirect): PoolGate keeps only its hash. An admin sees every user's keys with an owner column, or one
user's (`?user=NAME`, as `/api/v1/keys` takes it), and may create a key for another user. The rules
are the keys service's (keys/service.py), the same the API applies."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from services.account_service.console import forms, web
from services.account_service.console.deps import ConsoleSession
from services.account_service.console.i18n import _
from services.account_service.console.sessions import Session
from services.account_service.deps import PageNumber, Tx
from services.account_service.keys import service
from services.account_service.keys.schemas import NAME_MAX_LENGTH, ApiKey, KeyCreate, KeyUpdate
from services.account_service.users.service import resolve_owner, usernames
from shared.errors import PoolGateError

router = APIRouter()

PER_PAGE = 50


@router.get("/keys")
async def keys_page(
    request: Request, conn: Tx, session: ConsoleSession, user: str | None = None, page: PageNumber = 1
) -> Response:
    return await _render(request, conn, session, owner=user, page=page)


@router.post("/keys")
async def create_key(
    request: Request,
    conn: Tx,
    session: ConsoleSession,
    name: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    user: str | None = None,
) -> Response:
    """The answer is the keys page with the new key in it: the one time its plaintext is shown."""
    errors: dict[str, str] = {}
    try:
        body = KeyCreate(name=name.strip() or None)
    except ValidationError:
        errors["name"] = _("A key's name has at most %(n)s characters.", n=NAME_MAX_LENGTH)
    try:
        target = await resolve_owner(conn, actor=session.actor, username=owner.strip() or None, param="owner")
    except PoolGateError as exc:
        if not session.actor.is_admin:
            raise  # only admins have the field: anyone else named a user by hand
        errors["owner"] = exc.message
    if errors:
        form = {"name": name, "owner": owner}
        return await _render(request, conn, session, owner=user, status_code=422, errors=errors, form=form)
    key, plaintext = await service.create_key(conn, username=target.username, name=body.name)
    shown_once = {"created": key, "plaintext": plaintext}
    return await _render(request, conn, session, owner=user, status_code=201, **shown_once)


LIMIT_FIELDS = ("requests_per_minute", "concurrency", "tokens_per_day", "allowed_models")


def _limits_page(request: Request, key: ApiKey, *, status_code: int = 200, **form: object) -> Response:
    values = {
        field: ", ".join(value) if isinstance(value, list) else value
        for field, value in key.model_dump(include=set(LIMIT_FIELDS)).items()
    }
    form = {"errors": {}, "values": values} | form
    defaults = request.app.state.settings.key_limit_defaults
    return web.render(request, "key_limits.html", status_code=status_code, k=key, defaults=defaults, **form)


@router.get("/keys/{key_id}/limits")
async def limits_form(request: Request, key_id: UUID, conn: Tx, session: ConsoleSession) -> Response:
    return _limits_page(request, await service.get_key(conn, actor=session.actor, key_id=key_id))


@router.post("/keys/{key_id}/limits")
async def set_limits(
    request: Request,
    key_id: UUID,
    conn: Tx,
    session: ConsoleSession,
    requests_per_minute: Annotated[str, Form(max_length=40)] = "",
    concurrency: Annotated[str, Form(max_length=40)] = "",
    tokens_per_day: Annotated[str, Form(max_length=40)] = "",
    allowed_models: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """Through `update_key`, as `PATCH /api/v1/keys/{id}`: an empty field is the operator's default
    (for the models: any model)."""
    key = await service.get_key(conn, actor=session.actor, key_id=key_id)
    form = {
        "requests_per_minute": requests_per_minute,
        "concurrency": concurrency,
        "tokens_per_day": tokens_per_day,
        "allowed_models": allowed_models,
    }
    async with forms.attempt(conn, LIMIT_FIELDS) as tried:
        change: dict[str, object] = {k: v.strip() or None for k, v in form.items() if k != "allowed_models"}
        change["allowed_models"] = [m for m in allowed_models.replace("\n", ",").split(",") if m.strip()]
        await service.update_key(conn, actor=session.actor, key_id=key_id, update=KeyUpdate(**change))
    if tried.errors:
        return _limits_page(request, key, status_code=422, errors=tried.errors, values=form)
    return web.redirect("/keys?notice=updated", request=request)


@router.post("/keys/{key_id}/enable")
async def enable_key(request: Request, key_id: UUID, conn: Tx, session: ConsoleSession) -> Response:
    await service.set_key_enabled(conn, actor=session.actor, key_id=key_id, enabled=True)
    return web.redirect(_back(request, "enabled"), request=request)


@router.post("/keys/{key_id}/disable")
async def disable_key(request: Request, key_id: UUID, conn: Tx, session: ConsoleSession) -> Response:
    await service.set_key_enabled(conn, actor=session.actor, key_id=key_id, enabled=False)
    return web.redirect(_back(request, "disabled"), request=request)


@router.post("/keys/{key_id}/delete")
async def delete_key(request: Request, key_id: UUID, conn: Tx, session: ConsoleSession) -> Response:
    await service.delete_key(conn, actor=session.actor, key_id=key_id)
    return web.redirect(_back(request, "deleted"), request=request)


async def _render(
    request: Request,
    conn: asyncpg.Connection,
    session: Session,
    *,
    owner: str | None,
    page: int = 1,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    **context: object,
) -> Response:
    """The keys page: the list the actor may see (an admin's filtered by `owner`), and the form."""
    owner = (owner or "").strip() or None
    errors = dict(errors or {})
    try:
        keys, total = await service.page_of_keys(
            conn, actor=session.actor, owner=owner, page=page, per_page=PER_PAGE
        )
    except PoolGateError as exc:
        if not session.actor.is_admin:
            raise  # another user's keys, named by hand in the URL: the error page
        keys, total, status_code = [], 0, exc.status_code
        errors["user"] = exc.message
    owners = await usernames(conn, user_ids=[k.user_id for k in keys]) if session.actor.is_admin else {}
    return web.render(
        request,
        "keys.html",
        status_code=status_code,
        keys=keys,
        total=total,
        page=page,
        per_page=PER_PAGE,
        owner_filter=owner,
        owners=owners,
        errors=errors,
        **{"form": {}, "created": None, "plaintext": None} | context,
    )


def _back(request: Request, notice: str) -> str:
    """The list the action was taken from (its user filter and page), with the action's notice."""
    kept = {k: v for k, v in request.query_params.items() if k in ("user", "page") and v}
    return "/keys?" + urlencode(kept | {"notice": notice})
