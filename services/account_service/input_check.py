"""Text PostgreSQL cannot store is refused at the edge, as a 422 naming the field.

PostgreSQL's `text` holds no NUL character, and UTF-8 has no lone surrogates (Python's JSON parser
accepts `"\\ud800"`, PostgreSQL's encoder does not): either one reaching asyncpg was a 500. Rather
than a rule on every string field of every model, one router dependency walks what the request
carries: path and query parameters, and the JSON body or the console's form FastAPI has already
parsed (`Request.json()` and `Request.form()` keep them, so nothing is parsed twice). The hot
internal routes are plain endpoints outside these routers and pay nothing.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request

from shared.errors import Unprocessable

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_MESSAGE = "must not contain NUL characters or lone UTF-16 surrogates"


def _bad_text(value: Any, path: str) -> str | None:
    """The dotted path of the first string (or object key) in `value` that cannot be stored."""
    if isinstance(value, str):
        return path if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _UNSTORABLE.search(key):
                return path or "body"
            found = _bad_text(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for number, item in enumerate(value):
            found = _bad_text(item, f"{path}.{number}" if path else str(number))
            if found is not None:
                return found
    return None


def _refuse(field: str) -> Unprocessable:
    field = _UNSTORABLE.sub("?", field)  # a bad parameter name is named, not echoed
    return Unprocessable(f"{field}: {_MESSAGE}", param=field)


async def reject_unstorable_text(request: Request) -> None:
    """Router dependency: 422 for a NUL or a lone surrogate anywhere in the request's input. Body
    fields are named like validation errors (`name`, `models.0`), parameters by where they are
    (`query.owner`, `path.user_id`)."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and _UNSTORABLE.search(value):
            raise _refuse(f"path.{name}")
    for name, value in request.query_params.multi_items():
        if _UNSTORABLE.search(name) or _UNSTORABLE.search(value):
            raise _refuse(f"query.{name}")
    body = getattr(request, "_json", None)  # set only when FastAPI parsed a JSON body for the endpoint
    if body is not None:
        found = _bad_text(body, "")
        if found is not None:
            raise _refuse(found or "body")
    form = getattr(request, "_form", None)  # a console form FastAPI parsed for the endpoint's fields
    if form is not None:
        for name, value in form.multi_items():
            if isinstance(value, str) and (_UNSTORABLE.search(name) or _UNSTORABLE.search(value)):
                raise _refuse(name)
