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
from fastapi import UploadFile
from pydantic import ValidationError

from services.account_service.accounts.schemas import IMPORT_TEXT_LIMIT, validation_error
from services.account_service.console.i18n import _
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


async def pasted_or_uploaded(text: str, file: UploadFile | None) -> str:
    """An import's text: pasted into `text` or uploaded as `file` (UTF-8, at most the import limit),
    one of the two; a refusal names the field to show it next to."""
    if file is None or not file.filename:
        if not text.strip():
            raise Unprocessable(_("Paste the text to import, or choose a file."), param="text")
        return text
    if text.strip():
        raise Unprocessable(_("Paste the text or choose a file, not both."), param="file")
    content = await file.read(IMPORT_TEXT_LIMIT + 1)
    if len(content) > IMPORT_TEXT_LIMIT:
        raise Unprocessable(
            _("The file is larger than %(mb)s MB.", mb=IMPORT_TEXT_LIMIT // 1_000_000), param="file"
        )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable(_("The file is not UTF-8 text."), param="file") from None
