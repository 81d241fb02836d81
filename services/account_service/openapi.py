"""What the OpenAPI document says about the management API's answers besides each endpoint's model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette import responses

from shared.responses import JSONResponse


class DocumentedJSONResponse(JSONResponse, responses.JSONResponse):
    """shared's orjson response that FastAPI also recognises as JSON, so the OpenAPI document shows each
    endpoint's response model (it does that only for subclasses of starlette's JSONResponse)."""


class ErrorDetail(BaseModel):
    kind: str
    message: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    """Every expected failure: a 4xx with the field at fault named in `param`."""

    error: ErrorDetail


_ERRORS = {
    401: "No or an unknown API key",
    403: "The key or its user is disabled, or the call needs an admin's key",
    404: "Not found, or another user's",
    409: "A duplicate (username, Dreamina e-mail of the same owner), or an admin disabling or demoting"
    " themselves",
    422: "A field breaks a rule; `param` names it",
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _ERRORS.items()
}
# For endpoints whose success is not JSON (errors still are).
JSON_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status, text in _ERRORS.items()
}
