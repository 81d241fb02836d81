"""The fake Kiro's control API under /_fake/kiro/: lineages (and the profileArn their refreshes
answer), access tokens, scripts, config, reset."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from tests.fakes._control import json_response
from tests.fakes._kiro_chat import FAULTS, PRESETS
from tests.fakes._kiro_state import AUTH_HOSTS, KIRO, KIRO_DEFAULTS, KiroState, Lineage

DEFAULT_REGION = "us-east-1"
_SCRIPT_FIELDS = frozenset({"target", "status", "reason", "times", "delay_ms", "fault"})


def _bad(problem: str, status: int = 400) -> web.Response:
    return json_response({"error": problem}, status=status)


async def _json(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        return None


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _is_count(value: Any, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _lineage(request: web.Request) -> Lineage | None:
    return request.app[KIRO].lineages.get(request.match_info["lineage"])


async def post_lineage(request: web.Request) -> web.Response:
    body = await _json(request)
    if not isinstance(body, dict) or not all(_is_str(body.get(k)) for k in ("refresh_token", "region")):
        return _bad("refresh_token and region are required strings")
    unknown = set(body) - {"refresh_token", "region", "auth", "client_id", "client_secret", "profile_arn"}
    if unknown:
        return _bad(f"unknown fields: {', '.join(sorted(unknown))}")
    if not _is_str(body.get("profile_arn", "x")):
        return _bad("profile_arn must be a string when given")
    auth = body.get("auth", "social")
    if auth not in AUTH_HOSTS:
        return _bad("auth must be social or idc")
    client = (body.get("client_id"), body.get("client_secret"))
    if auth == "idc" and not all(map(_is_str, client)):
        return _bad("an idc lineage needs client_id and client_secret")
    lineage = request.app[KIRO].register(body["refresh_token"], body["region"], auth, *client)
    lineage.profile_arn = body.get("profile_arn")
    return json_response(lineage.view())


async def get_lineage(request: web.Request) -> web.Response:
    lineage = _lineage(request)
    return json_response(lineage.view()) if lineage else _bad("unknown lineage", 404)


async def revoke_access(request: web.Request) -> web.Response:
    lineage = _lineage(request)
    if lineage is None:
        return _bad("unknown lineage", 404)
    request.app[KIRO].revoke_access(lineage)
    return json_response(lineage.view())


async def revoke(request: web.Request) -> web.Response:
    lineage = _lineage(request)
    if lineage is None:
        return _bad("unknown lineage", 404)
    lineage.dead = True
    return json_response(lineage.view())


async def put_profile_arn(request: web.Request) -> web.Response:
    """The profileArn the lineage's refreshes answer from now on; null restores the host's default."""
    lineage = _lineage(request)
    if lineage is None:
        return _bad("unknown lineage", 404)
    body = await _json(request)
    arn = body.get("profile_arn") if isinstance(body, dict) else None
    if not isinstance(body, dict) or set(body) != {"profile_arn"} or not (arn is None or _is_str(arn)):
        return _bad('body must be {"profile_arn": a non-empty string or null}')
    lineage.profile_arn = arn
    return json_response({"lineage": lineage.name, "profile_arn": arn})


async def post_access_token(request: web.Request) -> web.Response:
    """Mint a valid access token, registering the lineage (social) when it is new or not given."""
    kiro: KiroState = request.app[KIRO]
    body = await _json(request)
    if not isinstance(body, dict) or not all(_is_str(body.get(k, "x")) for k in ("lineage", "region")):
        return _bad("lineage and region must be strings when given")
    name = body.get("lineage") or f"minted-{len(kiro.lineages) + 1}"
    lineage = kiro.lineages.get(name)
    if lineage is None:
        lineage = kiro.register(name, body.get("region", DEFAULT_REGION), "social")
    token = kiro.mint(lineage)
    return json_response({"access_token": token, "lineage": lineage.name, "region": lineage.region})


def _script_problem(script: dict[str, Any]) -> str | None:
    unknown = set(script) - _SCRIPT_FIELDS
    if unknown:
        return f"unknown fields: {', '.join(sorted(unknown))}"
    target = script.get("target")
    if target not in ("auth", "chat"):
        return "target must be auth or chat"
    if "status" in script and not (_is_count(script["status"]) and 100 <= script["status"] <= 599):
        return "status must be an HTTP status code"
    if script.get("times") is not None and not _is_count(script["times"]):
        return "times must be a non-negative integer or null"
    delay = script.get("delay_ms", 0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        return "delay_ms must be a non-negative number"
    reasons = ("invalid_grant",) if target == "auth" else tuple(PRESETS)
    if "reason" in script and script["reason"] not in reasons:
        return f"reason for {target} must be one of: {', '.join(reasons)}"
    if "fault" in script and (target != "chat" or script["fault"] not in FAULTS):
        return f"fault is for chat only, one of: {', '.join(sorted(FAULTS))}"
    return None


async def post_script(request: web.Request) -> web.Response:
    """Set one target's script of a lineage; an empty body clears both targets."""
    kiro: KiroState = request.app[KIRO]
    name = request.match_info["lineage"]
    script = await _json(request)
    if not isinstance(script, dict):
        return _bad("body must be a JSON object")
    if not script:
        kiro.scripts.pop(name, None)
    else:
        problem = _script_problem(script)
        if problem:
            return _bad(problem)
        kiro.scripts.setdefault(name, {})[script["target"]] = dict(script)
    return json_response({"lineage": name, "scripts": kiro.scripts.get(name, {})})


def _config_problem(patch: Any) -> str | None:
    if not isinstance(patch, dict):
        return "body must be a JSON object"
    unknown = set(patch) - KIRO_DEFAULTS.keys()
    if unknown:
        return f"unknown fields: {', '.join(sorted(unknown))}"
    if not isinstance(patch.get("rotate_refresh_tokens", True), bool):
        return "rotate_refresh_tokens must be a boolean"
    checks = {"expires_in": 0, "slice_bytes": -1, "max_input_chars": 0}
    for name, minimum in checks.items():
        if name in patch and not _is_count(patch[name], minimum):
            return f"{name} must be an integer >= {minimum}"
    if patch.get("seed") is not None and not _is_count(patch["seed"]):
        return "seed must be a non-negative integer or null"
    return None


async def get_config(request: web.Request) -> web.Response:
    kiro: KiroState = request.app[KIRO]
    return json_response({"config": kiro.config, "scripts": kiro.scripts, "lineages": sorted(kiro.lineages)})


async def post_config(request: web.Request) -> web.Response:
    kiro: KiroState = request.app[KIRO]
    patch = await _json(request)
    problem = _config_problem(patch)
    if problem:
        return _bad(problem)
    kiro.configure(patch)
    return json_response(kiro.config)


async def reset(request: web.Request) -> web.Response:
    request.app[KIRO].reset()
    return json_response({"ok": True})


def add_routes(app: web.Application) -> None:
    prefix = "/_fake/kiro"
    app.router.add_post(f"{prefix}/lineages", post_lineage)
    app.router.add_get(f"{prefix}/lineages/{{lineage}}", get_lineage)
    app.router.add_post(f"{prefix}/lineages/{{lineage}}/revoke-access", revoke_access)
    app.router.add_post(f"{prefix}/lineages/{{lineage}}/revoke", revoke)
    app.router.add_put(f"{prefix}/lineages/{{lineage}}/profile-arn", put_profile_arn)
    app.router.add_post(f"{prefix}/access-tokens", post_access_token)
    app.router.add_post(f"{prefix}/scripts/{{lineage}}", post_script)
    app.router.add_get(f"{prefix}/config", get_config)
    app.router.add_post(f"{prefix}/config", post_config)
    app.router.add_post(f"{prefix}/reset", reset)
