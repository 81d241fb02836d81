"""`GET /v1/models` and `GET /v1/models/{model}`: the models the caller's pool can serve.

OpenAI's shape by default; Anthropic's when the call carries `anthropic-version` (the Anthropic
SDKs always send it), errors included. The list comes from account_service, which also
authenticates the key. We know no release dates for pooled models: `created` is read from a
`-YYYYMMDD` suffix of the id when there is one, else it is the epoch.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.proxy_service.relay.request import read_headers
from services.proxy_service.responses import JSON_CONTENT_TYPE, RawResponse, error_response
from shared.errors import InvalidRequest, NotFound, PoolGateError, Unauthenticated
from shared.internal_client import PoolModels
from shared.kiro_models import PUBLIC_MODELS, kiro_model_id

_DATED = re.compile(r"-(20\d{6})$")
_FAMILY_FIRST = re.compile(r"^claude-(opus|sonnet|haiku)-(\d+)(?:-(\d))?(?:-\d{8}|-latest)?$")
_VERSION_FIRST = re.compile(r"^claude-(\d+)(?:-(\d))?-(opus|sonnet|haiku)(?:-\d{8}|-latest)?$")
_OWNERS = (
    ("claude", "anthropic"),
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("chatgpt", "openai"),
    ("deepseek", "deepseek"),
    ("gemini", "google"),
)
_MAX_LIMIT = 1000
_DEFAULT_LIMIT = 20  # Anthropic's


def caller_key(request: Request) -> str:
    """The caller's PoolGate key from `Authorization: Bearer` or `x-api-key`; 401 without one."""
    api_key = read_headers(request.scope["headers"]).api_key
    if api_key is None:
        raise Unauthenticated("missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`")
    return api_key


async def pool_models(request: Request) -> PoolModels:
    """The caller's pool, from account_service; it refuses a bad key (401) or a disabled one (403)."""
    return await request.app.state.internal.models(caller_key(request))


def _anthropic_style(request: Request) -> bool:
    return any(name == b"anthropic-version" for name, _ in request.scope["headers"])


def _json(body: dict) -> Response:
    return RawResponse(orjson.dumps(body), 200, [JSON_CONTENT_TYPE])


async def list_models(request: Request) -> Response:
    anthropic = _anthropic_style(request)
    try:
        pool = await pool_models(request)
        if anthropic:
            return _json(_anthropic_page(list(pool.models), request.query_params))
        return _json({"object": "list", "data": [_openai_model(m) for m in pool.models]})
    except PoolGateError as err:
        return error_response(err, "anthropic" if anthropic else "openai")


async def retrieve_model(request: Request) -> Response:
    anthropic = _anthropic_style(request)
    model = request.path_params["model"]
    try:
        if not _serves(await pool_models(request), model):
            raise NotFound(
                f"model {model!r} is not served by this key's pool", param="model", code="model_not_found"
            )
        return _json(_anthropic_model(model) if anthropic else _openai_model(model))
    except PoolGateError as err:
        return error_response(err, "anthropic" if anthropic else "openai")


def _serves(pool: PoolModels, model: str) -> bool:
    """Listed, taken by an any-model account, or another name of a listed Kiro model."""
    if pool.any_model or model in pool.models:
        return True
    kiro_id = kiro_model_id(model)
    return kiro_id is not None and any(
        kiro_model_id(name) == kiro_id for name in pool.models if name in PUBLIC_MODELS
    )


def _anthropic_page(models: list[str], query: QueryParams) -> dict:
    """One page in Anthropic's cursor pagination: `limit`, `after_id`, `before_id`."""
    raw_limit = query.get("limit")
    try:
        limit = _DEFAULT_LIMIT if raw_limit is None else int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= _MAX_LIMIT:
        raise InvalidRequest(f"limit must be an integer from 1 to {_MAX_LIMIT}", param="limit")
    start, end = 0, len(models)
    if (after := query.get("after_id")) is not None:
        start = models.index(after) + 1 if after in models else end
    if (before := query.get("before_id")) is not None:
        end = models.index(before) if before in models else 0
        start = max(start, end - limit)
    page = models[start:end][:limit]
    return {
        "data": [_anthropic_model(m) for m in page],
        "has_more": (start + len(page) < end) if before is None else start > 0,
        "first_id": page[0] if page else None,
        "last_id": page[-1] if page else None,
    }


def _openai_model(model: str) -> dict:
    return {
        "id": model,
        "object": "model",
        "created": int(_created(model).timestamp()),
        "owned_by": _owner(model),
    }


def _anthropic_model(model: str) -> dict:
    created = _created(model).isoformat().replace("+00:00", "Z")
    return {"type": "model", "id": model, "display_name": _display_name(model), "created_at": created}


def _created(model: str) -> datetime:
    match = _DATED.search(model)
    if match:
        try:
            return datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.fromtimestamp(0, UTC)


def _owner(model: str) -> str:
    if "/" in model:  # OpenRouter-style `vendor/model`
        return model.split("/", 1)[0]
    lowered = model.lower()
    return next((owner for prefix, owner in _OWNERS if lowered.startswith(prefix)), "poolgate")


def _display_name(model: str) -> str:
    """`claude-sonnet-4-5` → `Claude Sonnet 4.5`, `claude-3-7-sonnet-latest` → `Claude Sonnet 3.7`;
    any other id is its own display name."""
    lowered = model.lower()
    if match := _FAMILY_FIRST.match(lowered):
        family, major, minor = match.groups()
    elif match := _VERSION_FIRST.match(lowered):
        major, minor, family = match.groups()
    else:
        return model
    return f"Claude {family.title()} {major}{'.' + minor if minor else ''}"


routes = [
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model:path}", retrieve_model, methods=["GET"]),
]
