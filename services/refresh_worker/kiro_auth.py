"""Refreshing a Kiro access token: Social (Kiro desktop) and IdC (AWS SSO OIDC), per token region.

Request building and response parsing are pure functions; `refresh` makes the one HTTP call with
the process's `httpx.AsyncClient`. Every outcome is typed:

* `KiroTokens`: a new access token, its expiry (`expiresIn` − 60 s), the rotated refresh token when
  one came back, and the profile ARN when one came back.
* `DeadCredential`: the refresh token (or the IdC client) is proven dead: `400 invalid_grant`, an
  OIDC `invalid_client`/`unauthorized_client`, or 401/403 from the auth host.
* `TransientRefreshError`: 429, 5xx, timeouts and connection errors; worth trying again later.
* `RefreshRefused`: any other answer; retrying the same request cannot help, and the credential
  is not proven dead either.

Nothing here logs; the exceptions' reasons never contain a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import orjson

AuthType = Literal["social", "idc"]
DEFAULT_REGION = "us-east-1"
DEFAULT_EXPIRES_IN_S = 3600
EXPIRY_MARGIN = timedelta(seconds=60)
# An AWS region name; anything else would let stored data choose the host.
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_DEAD_OIDC_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})
_HEADERS = {"content-type": "application/json", "accept": "application/json"}


class RefreshError(Exception):
    def __init__(self, reason: str, *, status_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


class DeadCredential(RefreshError):
    """The credential is proven dead: only a person can give the account a new one."""


class TransientRefreshError(RefreshError):
    """Worth trying again later (rate limited, server error, timeout, unreachable)."""


class RefreshRefused(RefreshError):
    """A permanent answer that does not prove the credential dead (e.g. a malformed request)."""


@dataclass(frozen=True, slots=True)
class KiroCredential:
    auth_type: AuthType
    region: str
    refresh_token: str = field(repr=False)
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> KiroCredential:
        """From account_service's credentials read (`kind`, `region`, `settings`, `secrets`)."""
        secrets = stored.get("secrets") or {}
        settings = stored.get("settings") or {}
        refresh_token = secrets.get("refresh_token")
        if not refresh_token:
            raise DeadCredential("the account has no refresh token")
        client_id, client_secret = secrets.get("client_id"), secrets.get("client_secret")
        auth_type = settings.get("auth_type") or ("idc" if client_id and client_secret else "social")
        if auth_type == "idc" and not (client_id and client_secret):
            raise DeadCredential("an IdC account needs client_id and client_secret")
        region = stored.get("region") or DEFAULT_REGION
        if not _REGION.match(region):
            raise DeadCredential(f"unsupported region {region!r}")
        return cls(
            auth_type="idc" if auth_type == "idc" else "social",
            region=region,
            refresh_token=refresh_token,
            client_id=client_id,
            client_secret=client_secret,
        )


@dataclass(frozen=True, slots=True)
class RefreshUrls:
    social: str
    idc: str


@dataclass(frozen=True, slots=True)
class RefreshRequest:
    url: str
    body: dict[str, str] = field(repr=False)
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class KiroTokens:
    access_token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)  # only when it rotated
    profile_arn: str | None = None


def build_request(credential: KiroCredential, urls: RefreshUrls) -> RefreshRequest:
    """The refresh call at the token's own region's auth host."""
    if credential.auth_type == "idc":
        body = {
            "clientId": credential.client_id or "",
            "clientSecret": credential.client_secret or "",
            "grantType": "refresh_token",
            "refreshToken": credential.refresh_token,
        }
        template = urls.idc
    else:
        body = {"refreshToken": credential.refresh_token}
        template = urls.social
    # Not str.format: a template may legitimately hold other braces; only `{region}` is ours.
    return RefreshRequest(url=template.replace("{region}", credential.region), body=body, headers=_HEADERS)


def _error_fields(body: bytes) -> tuple[str | None, str | None]:
    """The OAuth-style `error` code and description, if the body is such a JSON object."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(parsed, dict):
        return None, None
    code = parsed.get("error")
    description = parsed.get("error_description") or parsed.get("message")
    return (
        code if isinstance(code, str) else None,
        description[:200] if isinstance(description, str) else None,
    )


def _describe(status: int, code: str | None, description: str | None) -> str:
    detail = ": ".join(part for part in (code, description) if part)
    return f"auth host answered {status}" + (f" ({detail})" if detail else "")


def parse_response(status: int, body: bytes, *, now: datetime) -> KiroTokens:
    """Turn the auth host's answer into tokens, or raise the typed error it means."""
    if status == 200:
        return _parse_tokens(body, now=now)
    code, description = _error_fields(body)
    if code in _DEAD_OIDC_ERRORS or (status == 400 and b"invalid_grant" in body):
        reason = f"{code or 'invalid_grant'}: {description or 'refresh token rejected'}"
        raise DeadCredential(reason, status_code=status)
    if status in (401, 403):
        raise DeadCredential(_describe(status, code, description), status_code=status)
    if status == 429 or status >= 500:
        raise TransientRefreshError(_describe(status, code, description), status_code=status)
    raise RefreshRefused(_describe(status, code, description), status_code=status)


def _parse_tokens(body: bytes, *, now: datetime) -> KiroTokens:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise TransientRefreshError("auth host answered 200 with a body that is not JSON") from exc
    access_token = parsed.get("accessToken") if isinstance(parsed, dict) else None
    if not isinstance(access_token, str) or not access_token:
        raise TransientRefreshError("auth host answered 200 without an accessToken")
    expires_in = parsed.get("expiresIn")
    if not isinstance(expires_in, int | float) or isinstance(expires_in, bool) or expires_in <= 0:
        expires_in = DEFAULT_EXPIRES_IN_S
    rotated = parsed.get("refreshToken")
    profile_arn = parsed.get("profileArn")
    return KiroTokens(
        access_token=access_token,
        expires_at=now + timedelta(seconds=expires_in) - EXPIRY_MARGIN,
        refresh_token=rotated if isinstance(rotated, str) and rotated else None,
        profile_arn=profile_arn if isinstance(profile_arn, str) and profile_arn else None,
    )


async def refresh(
    client: httpx.AsyncClient, credential: KiroCredential, urls: RefreshUrls, *, timeout_s: float
) -> KiroTokens:
    request = build_request(credential, urls)
    try:
        response = await client.post(
            request.url, content=orjson.dumps(request.body), headers=request.headers, timeout=timeout_s
        )
    except httpx.TimeoutException as exc:
        raise TransientRefreshError(f"auth host timed out ({exc.__class__.__name__})") from exc
    except httpx.TransportError as exc:
        raise TransientRefreshError(f"auth host unreachable ({exc.__class__.__name__})") from exc
    return parse_response(response.status_code, response.content, now=datetime.now(UTC))
