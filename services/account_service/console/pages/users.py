"""Users (admins): create one with a first password, disable and enable, reset a password, give and
take away admin rights; the same service functions as `/api/v1/users`."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from services.account_service.console import web
from services.account_service.console.deps import AdminSession
from services.account_service.console.i18n import _
from services.account_service.console.pages.auth import password_error
from services.account_service.deps import Tx
from services.account_service.users import passwords, service
from shared.errors import PoolGateError

router = APIRouter(prefix="/admin/users")

Password = Annotated[str, Form(max_length=passwords.MAX_LENGTH * 4)]  # too long: refused by check_new


def _refusal(exc: PoolGateError) -> str:
    """A service's refusal in the page's language (the service words it in English, for the API)."""
    match exc.code:
        case "username_taken":
            return _("This username is taken.")
        case "invalid_username":
            return _("A username has 1 to 64 characters: letters, digits and _ . @ -")
        case "cannot_disable_self":
            return _("You cannot disable yourself.")
        case "cannot_demote_self":
            return _("You cannot remove your own admin rights.")
    return exc.message


async def _list_page(
    request: Request,
    conn,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, object] | None = None,
    row_errors: dict[UUID, str] | None = None,
) -> Response:
    return web.render(
        request,
        "users.html",
        status_code=status_code,
        users=await service.list_users(conn),
        errors=errors or {},
        form=form or {},
        row_errors=row_errors or {},
    )


@router.get("")
async def users(request: Request, conn: Tx, _session: AdminSession) -> Response:
    return await _list_page(request, conn)


@router.post("")
async def create_user(
    request: Request,
    conn: Tx,
    _session: AdminSession,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Password = "",
    is_admin: Annotated[bool, Form()] = False,
) -> Response:
    try:
        async with conn.transaction():  # a savepoint: a refused name leaves the page's transaction usable
            await service.create_user(conn, username=username.strip(), is_admin=is_admin, password=password)
    except PoolGateError as exc:
        field = exc.param if exc.param in ("username", "password") else "username"
        message = password_error(password, exc) if field == "password" else _refusal(exc)
        return await _list_page(
            request,
            conn,
            status_code=exc.status_code,
            errors={field: message},
            form={"username": username, "is_admin": is_admin},
        )
    return web.redirect("/admin/users?notice=created", request=request)


async def _row_action(
    request: Request, conn, user_id: UUID, change: Awaitable[object], notice: str
) -> Response:
    """Make `change`; a refusal is shown next to the row of the user it was about."""
    try:
        async with conn.transaction():
            await change
    except PoolGateError as exc:
        if exc.status_code == 404:
            raise
        return await _list_page(
            request, conn, status_code=exc.status_code, row_errors={user_id: _refusal(exc)}
        )
    return web.redirect(f"/admin/users?notice={notice}", request=request)


@router.post("/{user_id}/disable")
async def disable_user(request: Request, user_id: UUID, conn: Tx, session: AdminSession) -> Response:
    change = service.set_user_disabled(conn, actor=session.actor, user_id=user_id, disabled=True)
    return await _row_action(request, conn, user_id, change, "disabled")


@router.post("/{user_id}/enable")
async def enable_user(request: Request, user_id: UUID, conn: Tx, session: AdminSession) -> Response:
    change = service.set_user_disabled(conn, actor=session.actor, user_id=user_id, disabled=False)
    return await _row_action(request, conn, user_id, change, "enabled")


@router.post("/{user_id}/admin")
async def set_admin(
    request: Request,
    user_id: UUID,
    conn: Tx,
    session: AdminSession,
    is_admin: Annotated[bool, Form()] = False,
) -> Response:
    change = service.set_user_admin(conn, actor=session.actor, user_id=user_id, is_admin=is_admin)
    return await _row_action(request, conn, user_id, change, "updated")


@router.get("/{user_id}/password")
async def password_form(request: Request, user_id: UUID, conn: Tx, _session: AdminSession) -> Response:
    target = await service.get_user_by_id(conn, user_id=user_id)
    return web.render(request, "user_password.html", target=target, errors={})


@router.post("/{user_id}/password")
async def reset_password(
    request: Request,
    user_id: UUID,
    conn: Tx,
    session: AdminSession,
    new: Password = "",
    repeat: Password = "",
) -> Response:
    target = await service.get_user_by_id(conn, user_id=user_id)
    errors: dict[str, str] = {}
    if new != repeat:
        errors["repeat"] = _("The two new passwords differ.")
    else:
        # Their sessions end; an admin resetting their own password stays signed in here.
        keep = session.token_hash if user_id == session.actor.user_id else None
        try:
            await service.reset_password(conn, user_id=user_id, password=new, keep_session=keep)
        except PoolGateError as exc:
            errors["new"] = password_error(new, exc)
    if errors:
        return web.render(request, "user_password.html", status_code=422, target=target, errors=errors)
    return web.redirect("/admin/users?notice=updated", request=request)
