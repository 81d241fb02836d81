"""Error rules: list them in the order they are tried, add one, edit or delete it, and try a sample
error (a status and a body) to see which rule matches and what it would do. The rules are the error
rules service's, the same the API applies."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from services.account_service.accounts import repository as accounts
from services.account_service.console import web
from services.account_service.console.deps import ConsoleSession
from services.account_service.console.sessions import Session
from services.account_service.deps import Tx
from services.account_service.error_rules import service
from services.account_service.error_rules.schemas import ErrorRuleCreate, ErrorRuleTest, ErrorRuleUpdate
from shared.errors import PoolGateError

router = APIRouter(prefix="/error-rules")

_TEXT = ("name", "kind", "account_id", "match_type", "pattern", "action", "reason")
_NUMBERS = ("position", "status_code", "seconds")
_FLAGS = ("until_next_day", "enabled", "global_rule")


async def _form(request: Request) -> dict[str, Any]:
    """The rule form as typed fields: an empty box is no value (the condition is left out)."""
    raw = await request.form()
    form: dict[str, Any] = {}
    for name in _TEXT + _NUMBERS:
        value = str(raw.get(name) or "").strip()
        form[name] = value or None
    for name in _FLAGS:
        form[name] = raw.get(name) == "true"
    return form


def _errors_of(exc: ValidationError) -> dict[str, str]:
    return {str(e["loc"][0]): e["msg"] for e in exc.errors() if e["loc"]}


@router.get("")
async def rules_page(request: Request, conn: Tx, session: ConsoleSession) -> Response:
    return await _render(request, conn, session)


@router.post("")
async def create_rule(request: Request, conn: Tx, session: ConsoleSession) -> Response:
    form = await _form(request)
    try:
        spec = ErrorRuleCreate(**{**form, "global_rule": form["global_rule"] and session.actor.is_admin})
        await service.create_rule(conn, actor=session.actor, spec=spec)
    except ValidationError as exc:
        return await _render(request, conn, session, status_code=422, errors=_errors_of(exc), form=form)
    except PoolGateError as exc:
        if exc.param is None or exc.status_code >= 500:
            raise
        errors = {exc.param: exc.message}
        return await _render(request, conn, session, status_code=422, errors=errors, form=form)
    return web.redirect("/error-rules?notice=created", request=request)


@router.post("/test")
async def test_rules(request: Request, conn: Tx, session: ConsoleSession) -> Response:
    raw = await request.form()
    sample = {name: str(raw.get(name) or "").strip() or None for name in ("status", "kind", "account_id")}
    sample["body"] = str(raw.get("body") or "")
    try:
        verdict = await service.test_rules(conn, actor=session.actor, sample=ErrorRuleTest(**sample))
    except ValidationError as exc:
        errors = {f"test_{k}": v for k, v in _errors_of(exc).items()}
        return await _render(request, conn, session, status_code=422, errors=errors, sample=sample)
    except PoolGateError as exc:
        if exc.param is None or exc.status_code >= 500:
            raise
        errors = {f"test_{exc.param}": exc.message}
        return await _render(request, conn, session, status_code=422, errors=errors, sample=sample)
    return await _render(request, conn, session, sample=sample, verdict=verdict)


@router.get("/{rule_id}")
async def rule_page(request: Request, rule_id: UUID, conn: Tx, session: ConsoleSession) -> Response:
    rule = await service.owned(conn, actor=session.actor, rule_id=rule_id, change=True)
    form = rule.model_dump(mode="json")
    return await _render_edit(request, conn, session, rule_id=rule_id, form=form)


@router.post("/{rule_id}")
async def update_rule(request: Request, rule_id: UUID, conn: Tx, session: ConsoleSession) -> Response:
    form = await _form(request)
    changes = {k: v for k, v in form.items() if k != "global_rule"}
    changes["name"], changes["reason"] = changes["name"] or "", changes["reason"] or ""
    if changes["position"] is None:
        changes["position"] = service.DEFAULT_POSITION
    try:
        spec = ErrorRuleUpdate(**changes)
        await service.update_rule(conn, actor=session.actor, rule_id=rule_id, spec=spec)
    except ValidationError as exc:
        return await _render_edit(
            request, conn, session, rule_id=rule_id, form=form, errors=_errors_of(exc), status_code=422
        )
    except PoolGateError as exc:
        if exc.param is None or exc.param == "rule_id" or exc.status_code >= 500:
            raise
        errors = {exc.param: exc.message}
        return await _render_edit(
            request, conn, session, rule_id=rule_id, form=form, errors=errors, status_code=422
        )
    return web.redirect("/error-rules?notice=updated", request=request)


@router.post("/{rule_id}/delete")
async def delete_rule(request: Request, rule_id: UUID, conn: Tx, session: ConsoleSession) -> Response:
    await service.delete_rule(conn, actor=session.actor, rule_id=rule_id)
    return web.redirect("/error-rules?notice=deleted", request=request)


async def _own_accounts(conn: asyncpg.Connection, session: Session) -> list[tuple[str, str]]:
    found, _ = await accounts.search(conn, owner_id=session.actor.user_id, sort="name", limit=500, offset=0)
    return [(str(a.id), f"{a.name} ({a.kind})") for a in found]


async def _render_edit(
    request: Request,
    conn: asyncpg.Connection,
    session: Session,
    *,
    rule_id: UUID,
    form: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return web.render(
        request,
        "error_rule.html",
        status_code=status_code,
        rule_id=rule_id,
        form=form,
        errors=errors or {},
        account_choices=await _own_accounts(conn, session),
    )


async def _render(
    request: Request,
    conn: asyncpg.Connection,
    session: Session,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    **context: object,
) -> Response:
    rules = await service.list_rules(conn, actor=session.actor)
    return web.render(
        request,
        "error_rules.html",
        status_code=status_code,
        rules=rules,
        errors=errors or {},
        account_choices=await _own_accounts(conn, session),
        **{"form": {}, "sample": {}, "verdict": None} | context,
    )
