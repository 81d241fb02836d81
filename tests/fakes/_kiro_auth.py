"""The two refresh hosts: Social `POST /auth/{region}/refreshToken` and IdC `POST /oidc/{region}/token`.

The region path segment stands for the real host (`prod.{region}.auth.desktop.kiro.dev`,
`oidc.{region}.amazonaws.com`), so the fake sees which region's host a refresh was meant for.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes._control import STATE, json_response, read_body, sleep_ms
from tests.fakes._kiro_state import KIRO, KiroState, Lineage

INVALID_GRANT = {"error": "invalid_grant", "error_description": "Invalid refresh token provided"}
_IDC_FIELDS = ("clientId", "clientSecret", "grantType", "refreshToken")
# Scripted auth failures by status; any other status gets a generic body of the same shape.
_AUTH_ERRORS: dict[int, dict[str, str]] = {
    429: {"error": "slow_down", "error_description": "Rate exceeded"},
    500: {"error": "server_error", "error_description": "Internal server error"},
    503: {"error": "temporarily_unavailable", "error_description": "Service unavailable"},
}


async def read_logged(request: web.Request, host: str, region_param: str) -> Any:
    """Parse and log the body; the log entry also names the host and region the call was meant for."""
    body = await read_body(request)
    state = request.app[STATE]
    if state.config["log_requests"] and state.requests:
        # read_body logged synchronously after its last await: the newest entry is this request's.
        state.requests[-1]["kiro"] = {"host": host, "region": request.match_info[region_param]}
    return body


def profile_arn(region: str) -> str:
    """The profile a social refresh names unless the lineage was given one."""
    return f"arn:aws:codewhisperer:{region}:699475941385:profile/FAKE"


def _invalid_request(description: str) -> web.Response:
    return json_response({"error": "invalid_request", "error_description": description}, status=400)


async def _scripted(kiro: KiroState, token: str) -> web.Response | None:
    """The scripted answer for this token's lineage, if any; a delay-only script just delays."""
    script = kiro.use_script(kiro.lineage_name(token), "auth")
    if not script:
        return None
    await sleep_ms(script.get("delay_ms", 0))
    if script.get("reason") == "invalid_grant":
        kiro.count_invalid_grant(token)
        return json_response(INVALID_GRANT, status=script.get("status", 400))
    status = script.get("status")
    if status is None:
        return None
    body = _AUTH_ERRORS.get(status, {"error": "server_error", "error_description": f"HTTP {status}"})
    return json_response(body, status=status)


async def social_refresh(request: web.Request) -> web.Response:
    kiro = request.app[KIRO]
    body = await read_logged(request, "auth", "region")
    token = body.get("refreshToken") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        return _invalid_request("refreshToken is required")
    scripted = await _scripted(kiro, token)
    if scripted is not None:
        return scripted
    region = request.match_info["region"]
    lineage = kiro.refresh(token, region, "social")
    if lineage is None:
        return json_response(INVALID_GRANT, status=400)
    return json_response(
        {
            "accessToken": kiro.mint(lineage),
            "refreshToken": lineage.current_refresh_token,
            "profileArn": lineage.profile_arn or profile_arn(region),
            "expiresIn": kiro.expires_in,
        }
    )


async def idc_refresh(request: web.Request) -> web.Response:
    kiro = request.app[KIRO]
    body = await read_logged(request, "oidc", "region")
    if not isinstance(body, dict):
        return _invalid_request("The request body is not a JSON object")
    for name in _IDC_FIELDS:
        if not isinstance(body.get(name), str) or not body[name]:
            return _invalid_request(f"Missing required parameter: {name}")
    if body["grantType"] != "refresh_token":
        return _invalid_request(f"Unsupported grantType: {body['grantType']}")
    token = body["refreshToken"]
    scripted = await _scripted(kiro, token)
    if scripted is not None:
        return scripted
    client = (body["clientId"], body["clientSecret"])
    lineage: Lineage | None = kiro.refresh(token, request.match_info["region"], "idc", client)
    if lineage is None:
        return json_response(INVALID_GRANT, status=400)
    return json_response(
        {
            "accessToken": kiro.mint(lineage),
            "refreshToken": lineage.current_refresh_token,
            "expiresIn": kiro.expires_in,
            "tokenType": "Bearer",
            # An IdC answer names a profile only when the fake was told one (kiro.md §1.4).
            **({"profileArn": lineage.profile_arn} if lineage.profile_arn else {}),
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/auth/{region}/refreshToken", social_refresh)
    app.router.add_post("/oidc/{region}/token", idc_refresh)
