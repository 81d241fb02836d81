"""The fake jimeng-api's control API under /_fake/jimeng/: what each sessionid is, and what it answers.

  POST /_fake/jimeng/tokens/{sid}   {live?, points?, region?}: a sessionid's state (merged; region null
                                    = any prefix is fine); GET answers it with its call count
  POST /_fake/jimeng/scripts/{sid}  {code?, message?, status?, retry_after?, delay_ms?, times?, routes?}:
                                    the next answers for that sessionid (an envelope code, an HTTP
                                    status, a delay) on its `routes`: "generations" (the default: images
                                    and videos) or "token" (/token/check, /token/points); an empty body
                                    clears it
  POST /_fake/jimeng/reset          forgets every sessionid
`{sid}` is the sessionid without any region prefix.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from tests.fakes._control import json_response
from tests.fakes._jimeng_state import GENERATIONS, JIMENG, PREFIXES, TOKEN_ROUTES

_TOKEN_FIELDS = frozenset({"live", "points", "region"})
_SCRIPT_FIELDS = frozenset({"code", "message", "status", "retry_after", "delay_ms", "times", "routes"})


def _bad(problem: str) -> web.Response:
    return json_response({"error": problem}, status=400)


async def _json(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _token_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if unknown := set(body) - _TOKEN_FIELDS:
        return f"unknown fields: {', '.join(sorted(unknown))}"
    if not isinstance(body.get("live", True), bool):
        return "live must be a boolean"
    if not _number(body.get("points", 0)):
        return "points must be a number"
    if body.get("region") not in (None, "cn", *PREFIXES):
        return "region must be cn, us, hk, jp, sg or null"
    return None


def _script_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if unknown := set(body) - _SCRIPT_FIELDS:
        return f"unknown fields: {', '.join(sorted(unknown))}"
    if "code" in body and "status" in body:
        return "a script answers either an envelope code or an HTTP status"
    if not isinstance(body.get("code", -1), int) or body.get("code", -1) >= 0:
        return "code must be a negative integer (jimeng-api's failure codes)"
    if not isinstance(body.get("status", 500), int) or not 400 <= body.get("status", 500) <= 599:
        return "status must be an HTTP error status"
    if not isinstance(body.get("message", ""), str):
        return "message must be a string"
    for name in ("delay_ms", "retry_after"):
        if not _number(body.get(name, 0)) or body.get(name, 0) < 0:
            return f"{name} must be a non-negative number"
    if body.get("routes", GENERATIONS) not in (GENERATIONS, TOKEN_ROUTES):
        return f"routes must be {GENERATIONS} or {TOKEN_ROUTES}"
    times = body.get("times")
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        return "times must be a positive integer or null"
    return None


async def post_token(request: web.Request) -> web.Response:
    body = await _json(request)
    if problem := _token_problem(body):
        return _bad(problem)
    token = request.app[JIMENG].token(request.match_info["sid"])
    for name, value in body.items():
        setattr(token, name, value)
    return json_response(token.view())


async def get_token(request: web.Request) -> web.Response:
    return json_response(request.app[JIMENG].token(request.match_info["sid"]).view())


async def post_script(request: web.Request) -> web.Response:
    body = await _json(request)
    if problem := _script_problem(body):
        return _bad(problem)
    token = request.app[JIMENG].token(request.match_info["sid"])
    token.script = dict(body)
    return json_response(token.view())


async def reset(request: web.Request) -> web.Response:
    request.app[JIMENG].reset()
    return json_response({"ok": True})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_fake/jimeng/tokens/{sid}", post_token)
    app.router.add_get("/_fake/jimeng/tokens/{sid}", get_token)
    app.router.add_post("/_fake/jimeng/scripts/{sid}", post_script)
    app.router.add_post("/_fake/jimeng/reset", reset)
