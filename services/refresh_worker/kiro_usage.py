"""What a Kiro account has left: `GET getUsageLimits` on the account's chat host (kiro.md §1.8, as
kiro.rs calls it), read after each successful refresh, so every account is read as often as its
access token is renewed (about hourly) with no schedule of its own.

The host follows the account's chat region exactly as the proxy's does (its `api_region`, else its
profile ARN's region, else us-east-1). The answer's usage breakdown counts the plan's limit plus an
active free trial and active bonuses; `nextDateReset` (epoch seconds) is the reset. A failed read
is `UsageUnread` with a reason that never carries the token: the quota stays as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

DEFAULT_API_REGION = "us-east-1"
_AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_PROFILE_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:codewhisperer:(?P<region>[^:]+):\d{12}:profile/[^:/\s]+")


class UsageUnread(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class UsageLimits:
    remaining: float
    limit: float
    resets_at: datetime | None

    def to_json(self, read_at: datetime) -> dict[str, Any]:
        return {
            "remaining": self.remaining,
            "limit": self.limit,
            "resets_at": self.resets_at.isoformat() if self.resets_at else None,
            "read_at": read_at.isoformat(),
        }


def api_region(settings: dict[str, Any], profile_arn: str | None) -> str:
    """The chat host's region: the account's `api_region`, its profile ARN's, or us-east-1."""
    explicit = settings.get("api_region")
    if isinstance(explicit, str) and _AWS_REGION.fullmatch(explicit):
        return explicit
    found = _PROFILE_ARN.fullmatch(profile_arn or "")
    if found and _AWS_REGION.fullmatch(found["region"]):
        return found["region"]
    return DEFAULT_API_REGION


def _amount(entry: dict[str, Any], name: str) -> float:
    value = entry.get(f"{name}WithPrecision", entry.get(name))
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _active(extra: Any) -> bool:
    status = extra.get("freeTrialStatus", extra.get("status")) if isinstance(extra, dict) else None
    return status == "ACTIVE"


def parse_usage_limits(status: int, body: bytes) -> UsageLimits:
    if status != 200:
        raise UsageUnread(f"getUsageLimits answered HTTP {status}")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UsageUnread("getUsageLimits answered with a body that is not JSON") from None
    entries = parsed.get("usageBreakdownList") if isinstance(parsed, dict) else None
    entries = [e for e in entries or () if isinstance(e, dict)]
    if not entries:
        raise UsageUnread("getUsageLimits answered without a usage breakdown")
    entry = next((e for e in entries if e.get("resourceType") == "CREDIT"), entries[0])
    parts = [entry, entry.get("freeTrialInfo"), *(entry.get("bonuses") or ())]
    parts = [entry] + [p for p in parts[1:] if _active(p)]
    limit = sum(_amount(p, "usageLimit") for p in parts)
    used = sum(_amount(p, "currentUsage") for p in parts)
    if limit <= 0:
        raise UsageUnread("getUsageLimits answered without a usage limit")
    reset = entry.get("nextDateReset", parsed.get("nextDateReset"))
    resets_at = None
    if isinstance(reset, int | float) and not isinstance(reset, bool) and reset > 0:
        resets_at = datetime.fromtimestamp(reset, UTC)
    return UsageLimits(remaining=max(0.0, limit - used), limit=limit, resets_at=resets_at)


async def read(
    http: httpx.AsyncClient,
    *,
    url_template: str,
    access_token: str,
    settings: dict[str, Any],
    profile_arn: str | None,
    timeout_s: float,
) -> UsageLimits:
    region = api_region(settings, profile_arn)
    params = {"origin": "AI_EDITOR", "resourceType": "AGENTIC_REQUEST"}
    if profile_arn:
        params["profileArn"] = profile_arn
    headers = {"authorization": f"Bearer {access_token}", "accept": "application/json"}
    try:
        response = await http.get(
            url_template.replace("{api_region}", region), params=params, headers=headers, timeout=timeout_s
        )
    except httpx.TimeoutException as exc:
        raise UsageUnread(f"getUsageLimits timed out ({exc.__class__.__name__})") from None
    except httpx.TransportError as exc:
        raise UsageUnread(f"getUsageLimits unreachable ({exc.__class__.__name__})") from None
    return parse_usage_limits(response.status_code, response.content)
