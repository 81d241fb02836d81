"""Anthropic's `POST /v1/messages/count_tokens` (any query string, e.g. Claude Code's `?beta=true`).

The count is PoolGate's own estimate (`formats/tokens.py`), not an upstream's: no pooled account
is spent on it, and Kiro has no such call. The key is checked through account_service first, as
Anthropic does, so a bad key is refused whatever the body.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.proxy_service.formats.tokens import estimate_request_tokens
from services.proxy_service.relay.request import json_object
from services.proxy_service.responses import JSON_CONTENT_TYPE, RawResponse
from services.proxy_service.routes.models import pool_models
from shared.errors import InvalidRequest

_ROLES = ("user", "assistant")


async def count_tokens(request: Request) -> Response:
    await pool_models(request)  # authenticates the key: 401 / 403 in Anthropic's error shape
    body = parse_count_request(await request.body())
    answer = {"input_tokens": estimate_request_tokens(body)}
    return RawResponse(orjson.dumps(answer), 200, [JSON_CONTENT_TYPE])


def parse_count_request(raw: bytes) -> dict[str, Any]:
    """The body of a Messages call without `max_tokens`, checked as far as counting needs."""
    body = json_object(raw)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("`model` is required and must be a non-empty string", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise InvalidRequest("`messages` is required and must be an array", param="messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"`messages.{i}` must be an object", param=f"messages.{i}")
        if message.get("role") not in _ROLES:
            raise InvalidRequest(f"`messages.{i}.role` must be user or assistant", param=f"messages.{i}.role")
        if not isinstance(message.get("content"), str | list):
            raise InvalidRequest(
                f"`messages.{i}.content` must be a string or an array of content blocks",
                param=f"messages.{i}.content",
            )
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        raise InvalidRequest("`system` must be a string or an array of text blocks", param="system")
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise InvalidRequest("`tools` must be an array", param="tools")
    return body


route = Route("/v1/messages/count_tokens", count_tokens, methods=["POST"])
