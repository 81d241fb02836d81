"""The account rules of DESIGN.md §2 as pure functions: regions, sessionid prefixes, who can log in,
default names and the status a credential starts in. No I/O, so they are tested by properties."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import Any, Literal

from shared.dreamina import REGIONS as DREAMINA_REGIONS
from shared.dreamina import upstream_sessionid as upstream_sessionid  # the rule lives there

KIRO_REGIONS = ("us-east-1", "ap-southeast-1", "eu-west-1")
KIRO_DEFAULT_REGION = "us-east-1"
ALL_REGIONS = KIRO_REGIONS + DREAMINA_REGIONS
SESSIONID_LIFETIME = timedelta(days=60)

# An AWS region name: a Kiro `api_region`, or the region part of a profile ARN (both pick the chat host).
_AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
# An IdC profile lives in its own region: arn:aws:codewhisperer:eu-west-1:123456789012:profile/ABC
_PROFILE_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:codewhisperer:(?P<region>[^:]+):\d{12}:profile/[^:/\s]+", re.ASCII
)
ChatRegionSource = Literal["api_region", "profile_arn", "default"]

# The fields whose change makes a stored credential a new one (it is validated again).
CREDENTIAL_FIELDS = {
    "kiro": frozenset({"refresh_token", "client_id", "client_secret", "auth_type", "region"}),
    "custom_api": frozenset({"api_key", "api_base"}),
    "dreamina": frozenset({"sessionid", "region"}),
}
# Secrets the refresh worker writes back; they belong to the credential they were made from.
WORKER_SECRETS = {"kiro": ("access_token",), "custom_api": (), "dreamina": ()}


class RuleViolation(ValueError):
    """A value breaks an account rule; `field` names the input that has to change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def allowed(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def kiro_region(region: str | None) -> str:
    region = (region or "").strip().lower() or KIRO_DEFAULT_REGION
    if region not in KIRO_REGIONS:
        raise RuleViolation("region", f"unsupported Kiro region {region!r}; allowed: {allowed(KIRO_REGIONS)}")
    return region


def dreamina_region(region: str | None) -> str:
    """The region of a Dreamina account; it is required (an import line's empty field is `cn`)."""
    if region is None:
        raise RuleViolation("region", f"region is required; allowed: {allowed(DREAMINA_REGIONS)}")
    region = region.strip().lower()
    if region not in DREAMINA_REGIONS:
        raise RuleViolation(
            "region", f"unknown Dreamina region {region!r}; allowed: {allowed(DREAMINA_REGIONS)}"
        )
    return region


def api_region(value: str | None) -> str | None:
    value = (value or "").strip().lower() or None
    if value is not None and not _AWS_REGION.fullmatch(value):
        raise RuleViolation("api_region", f"api_region {value!r} is not an AWS region name like us-east-1")
    return value


def profile_arn_region(profile_arn: str | None) -> str | None:
    """The region of a well-formed CodeWhisperer profile ARN; None for anything else."""
    found = _PROFILE_ARN.fullmatch(profile_arn or "")
    region = found["region"] if found else None
    return region if region and _AWS_REGION.fullmatch(region) else None


def kiro_chat_region(api_region: str | None, profile_arn: str | None) -> tuple[str, ChatRegionSource]:
    """The region of a Kiro account's chat host and why: the explicit `api_region`, else the region
    its profile ARN lives in (an IdC profile must be called in its own region), else us-east-1."""
    if api_region:
        return api_region, "api_region"
    arn_region = profile_arn_region(profile_arn)
    if arn_region:
        return arn_region, "profile_arn"
    return KIRO_DEFAULT_REGION, "default"


def can_login(password: str | None, region: str) -> bool:
    """Only an account with a password, outside `cn`, may ever trigger a browser login."""
    return bool(password and password.strip()) and region != "cn"


def check_dreamina_credentials(*, region: str, password: str, sessionid: str | None) -> None:
    if sessionid:
        return
    if region == "cn":
        raise RuleViolation("sessionid", "a cn account needs a sessionid (cn accounts cannot log in)")
    if not password.strip():
        raise RuleViolation("sessionid", "a Dreamina account needs a password or a sessionid")


def check_kiro_auth(*, auth_type: str, client_id: str | None, client_secret: str | None) -> None:
    if auth_type != "idc":
        return
    for name, value in (("client_id", client_id), ("client_secret", client_secret)):
        if not value:
            raise RuleViolation(name, f"{name} is required when auth_type is idc")


def infer_kiro_auth_type(*, auth_type: str | None, client_id: str | None, client_secret: str | None) -> str:
    """IdC when asked for, or when client credentials come without an explicit auth type."""
    if auth_type:
        return auth_type
    return "idc" if client_id or client_secret else "social"


def sessionid_expiry(*, sessionid: str | None, given: datetime | None, now: datetime) -> datetime | None:
    if not sessionid:
        return None
    return given or now + SESSIONID_LIFETIME


def kiro_default_name(*, region: str, refresh_token: str) -> str:
    return f"kiro-{region}-{hashlib.sha256(refresh_token.encode()).hexdigest()[:6]}"


def initial_status(kind: str, secrets: dict[str, Any]) -> str:
    """The status a credential starts in: Kiro waits for a real refresh, Dreamina needs a sessionid."""
    if kind == "kiro":
        return "active" if secrets.get("access_token") else "pending"
    if kind == "dreamina":
        return "active" if secrets.get("sessionid") else "pending"
    return "active"
