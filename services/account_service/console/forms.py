"""A form's attempt at a change: a refusal by the schema (pydantic `ValidationError`) or the service
(`PoolGateError` with `param`) becomes a message next to the field it names, and the page is
rendered again; a refusal that is about no field of the form (not found, forbidden) stays an error
page. The attempt runs in a savepoint, so the page's transaction is usable for that rendering even
when the database refused a statement."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
from pydantic import ValidationError

from services.account_service.accounts.schemas import validation_error
from shared.errors import PoolGateError, Unprocessable

FORM = "_form"  # the key of a refusal that names no field of the form: shown above the form


@dataclass(slots=True)
class Attempt:
    errors: dict[str, str] = field(default_factory=dict)


def errors_of(exc: PoolGateError | ValidationError, fields: Collection[str]) -> dict[str, str]:
    """`{field: message}` for a refusal of this form's input; anything else is raised again."""
    error = validation_error(exc) if isinstance(exc, ValidationError) else exc
    param = (error.param or "").split(".")[0]  # `models.2` is the models field
    if param in fields:
        return {param: error.message.removeprefix(f"{error.param}: ")}
    if isinstance(error, Unprocessable):
        return {FORM: error.message}
    raise exc


@asynccontextmanager
async def attempt(conn: asyncpg.Connection, fields: Collection[str]) -> AsyncIterator[Attempt]:
    """`async with attempt(conn, FIELDS) as tried: ...`; afterwards `tried.errors` is empty, or says
    what to show next to which field."""
    tried = Attempt()
    try:
        async with conn.transaction():
            yield tried
    except (PoolGateError, ValidationError) as exc:
        tried.errors = errors_of(exc, fields)
