"""The chat host's usage limits, as kiro.rs reads them (kiro.md §1.8):

GET /q/{api_region}/getUsageLimits?origin=AI_EDITOR&resourceType=AGENTIC_REQUEST[&profileArn=…]
    Authorization: Bearer <access token> → {"usageBreakdownList": [{"resourceType": "CREDIT",
    "usageLimitWithPrecision", "currentUsageWithPrecision", "nextDateReset", "freeTrialInfo"…}],
    "nextDateReset", "subscriptionInfo"}; an unknown or expired token: the invalid-bearer 403.
PUT /_fake/kiro/lineages/{lineage}/usage {limit?, used?, resets_at?}: what the lineage has (merged);
    GET of the same path: that and the chat regions it was asked in.
"""

from __future__ import annotations

import time

from aiohttp import web

from tests.fakes._control import bearer_token, json_response
from tests.fakes._kiro_state import KIRO, Lineage

_MONTH_S = 30 * 24 * 3600


def _resets_at(lineage: Lineage) -> float:
    return lineage.usage_resets_at if lineage.usage_resets_at is not None else time.time() + _MONTH_S


async def get_usage_limits(request: web.Request) -> web.Response:
    access = request.app[KIRO].access(bearer_token(request))
    if access is None:
        return json_response(
            {"message": "The bearer token included in the request is invalid.", "reason": None}, status=403
        )
    lineage = access.lineage
    lineage.usage_regions.append(request.match_info["api_region"])
    reset = _resets_at(lineage)
    entry = {
        "resourceType": "CREDIT",
        "currency": "USD",
        "unit": "INVOCATIONS",
        "usageLimit": int(lineage.usage_limit),
        "usageLimitWithPrecision": lineage.usage_limit,
        "currentUsage": int(lineage.usage_used),
        "currentUsageWithPrecision": lineage.usage_used,
        "nextDateReset": reset,
        "freeTrialInfo": {"freeTrialStatus": "EXPIRED", "usageLimitWithPrecision": 500.0},
    }
    return json_response(
        {
            "daysUntilReset": int((reset - time.time()) // 86400),
            "nextDateReset": reset,
            "subscriptionInfo": {"subscriptionTitle": "KIRO FREE", "type": "Q_DEVELOPER_STANDALONE_FREE"},
            "usageBreakdownList": [entry],
        }
    )


def _lineage(request: web.Request) -> Lineage | None:
    return request.app[KIRO].lineages.get(request.match_info["lineage"])


def _view(lineage: Lineage) -> dict:
    return {
        "limit": lineage.usage_limit,
        "used": lineage.usage_used,
        "resets_at": lineage.usage_resets_at,
        "regions": lineage.usage_regions,
    }


async def get_usage(request: web.Request) -> web.Response:
    lineage = _lineage(request)
    return json_response(_view(lineage)) if lineage else json_response({"error": "unknown lineage"}, 404)


async def put_usage(request: web.Request) -> web.Response:
    lineage = _lineage(request)
    if lineage is None:
        return json_response({"error": "unknown lineage"}, 404)
    try:
        body = await request.json()
    except ValueError:
        body = None
    numbers = {"limit", "used", "resets_at"}
    if not isinstance(body, dict) or set(body) - numbers:
        return json_response({"error": "body must be an object of limit, used, resets_at"}, 400)
    for name, value in body.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return json_response({"error": f"{name} must be a non-negative number"}, 400)
    lineage.usage_limit = float(body.get("limit", lineage.usage_limit))
    lineage.usage_used = float(body.get("used", lineage.usage_used))
    if "resets_at" in body:
        lineage.usage_resets_at = float(body["resets_at"])
    return json_response(_view(lineage))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/q/{api_region}/getUsageLimits", get_usage_limits)
    app.router.add_get("/_fake/kiro/lineages/{lineage}/usage", get_usage)
    app.router.add_put("/_fake/kiro/lineages/{lineage}/usage", put_usage)
