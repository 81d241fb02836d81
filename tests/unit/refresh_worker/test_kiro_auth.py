"""Kiro refresh requests per auth type and region, response parsing and error classification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from services.refresh_worker.kiro_auth import (
    DeadCredential,
    KiroCredential,
    RefreshRefused,
    RefreshUrls,
    TransientRefreshError,
    build_request,
    parse_response,
    refresh,
)
from services.refresh_worker.settings import RefreshWorkerSettings

REAL = RefreshUrls(
    social=RefreshWorkerSettings.model_fields["kiro_social_refresh_url"].default,
    idc=RefreshWorkerSettings.model_fields["kiro_idc_refresh_url"].default,
)
FAKE = RefreshUrls(social="http://fake/auth/{region}/refreshToken", idc="http://fake/oidc/{region}/token")
NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _stored(region: str | None = "us-east-1", **secrets: str) -> dict:
    auth_type = "idc" if "client_id" in secrets else "social"
    return {
        "kind": "kiro",
        "status": "active",
        "region": region,
        "settings": {"auth_type": auth_type, "api_region": None, "profile_arn": None},
        "credential_expires_at": None,
        "secrets": {"refresh_token": "rt-1", **secrets},
    }


def _social(region: str = "us-east-1") -> KiroCredential:
    return KiroCredential.from_stored(_stored(region))


def _idc(region: str = "us-east-1") -> KiroCredential:
    return KiroCredential.from_stored(_stored(region, client_id="cid", client_secret="csecret"))


@pytest.mark.parametrize("region", ["us-east-1", "ap-southeast-1", "eu-west-1"])
def test_social_refresh_goes_to_the_tokens_own_regions_desktop_auth_host(region):
    request = build_request(_social(region), REAL)
    assert request.url == f"https://prod.{region}.auth.desktop.kiro.dev/refreshToken"
    assert request.body == {"refreshToken": "rt-1"}
    assert request.headers["content-type"] == "application/json"


@pytest.mark.parametrize("region", ["us-east-1", "ap-southeast-1", "eu-west-1"])
def test_idc_refresh_goes_to_the_tokens_own_regions_oidc_host_with_a_camel_case_body(region):
    request = build_request(_idc(region), REAL)
    assert request.url == f"https://oidc.{region}.amazonaws.com/token"
    assert request.body == {
        "clientId": "cid",
        "clientSecret": "csecret",
        "grantType": "refresh_token",
        "refreshToken": "rt-1",
    }


def test_url_templates_from_settings_aim_the_refresh_at_a_fake():
    assert build_request(_social("eu-west-1"), FAKE).url == "http://fake/auth/eu-west-1/refreshToken"
    assert build_request(_idc("ap-southeast-1"), FAKE).url == "http://fake/oidc/ap-southeast-1/token"


def test_a_token_without_a_region_uses_the_product_default_us_east_1():
    assert build_request(KiroCredential.from_stored(_stored(None)), FAKE).url.endswith(
        "/us-east-1/refreshToken"
    )


def test_client_credentials_make_an_idc_credential_even_without_a_stored_auth_type():
    stored = _stored(client_id="cid", client_secret="s")
    stored["settings"] = {}
    assert KiroCredential.from_stored(stored).auth_type == "idc"


@pytest.mark.parametrize(
    "stored",
    [
        {**_stored(), "secrets": {}},
        {**_stored(), "settings": {"auth_type": "idc"}},
        _stored("us-east-1/../../evil"),
    ],
    ids=["no refresh token", "idc without client", "not a region"],
)
def test_a_credential_that_cannot_be_refreshed_is_dead(stored):
    with pytest.raises(DeadCredential):
        KiroCredential.from_stored(stored)


def test_secrets_stay_out_of_reprs():
    credential = _idc()
    request = build_request(credential, FAKE)
    tokens = parse_response(200, orjson.dumps({"accessToken": "at-x", "refreshToken": "rt-2"}), now=NOW)
    for shown in (repr(credential), repr(request), repr(tokens)):
        assert "rt-1" not in shown and "csecret" not in shown and "at-x" not in shown and "rt-2" not in shown


def test_a_social_answer_gives_the_token_its_expiry_less_a_minute_the_rotated_token_and_the_arn():
    body = {
        "accessToken": "at-1",
        "refreshToken": "rt-2",
        "profileArn": "arn:aws:codewhisperer:eu-west-1:1:profile/X",
        "expiresIn": 3600,
    }
    tokens = parse_response(200, orjson.dumps(body), now=NOW)
    assert tokens.access_token == "at-1"
    assert tokens.expires_at == NOW + timedelta(seconds=3600 - 60)
    assert tokens.refresh_token == "rt-2"
    assert tokens.profile_arn == "arn:aws:codewhisperer:eu-west-1:1:profile/X"


def test_rotation_and_profile_arn_are_optional_and_expiry_defaults_to_an_hour():
    tokens = parse_response(200, orjson.dumps({"accessToken": "at-1", "tokenType": "Bearer"}), now=NOW)
    assert tokens.refresh_token is None
    assert tokens.profile_arn is None
    assert tokens.expires_at == NOW + timedelta(seconds=3540)


def test_a_short_lived_token_expires_a_minute_early():
    tokens = parse_response(200, orjson.dumps({"accessToken": "a", "expiresIn": 900}), now=NOW)
    assert tokens.expires_at == NOW + timedelta(seconds=840)


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", orjson.dumps({"expiresIn": 3600}), b'{"accessToken": ""}']
)
def test_a_200_without_an_access_token_is_transient(body):
    with pytest.raises(TransientRefreshError):
        parse_response(200, body, now=NOW)


INVALID_GRANT = orjson.dumps(
    {"error": "invalid_grant", "error_description": "Invalid refresh token provided"}
)


def test_invalid_grant_is_a_dead_credential_with_the_reason():
    with pytest.raises(DeadCredential) as caught:
        parse_response(400, INVALID_GRANT, now=NOW)
    assert caught.value.reason == "invalid_grant: Invalid refresh token provided"
    assert caught.value.status_code == 400


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, b"invalid_grant"),
        (400, orjson.dumps({"error": "invalid_client", "error_description": "expired client"})),
        (401, orjson.dumps({"message": "Unauthorized"})),
        (403, b""),
    ],
)
def test_refused_credentials_are_dead(status, body):
    with pytest.raises(DeadCredential):
        parse_response(status, body, now=NOW)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_rate_limits_and_server_errors_are_transient(status):
    with pytest.raises(TransientRefreshError) as caught:
        parse_response(status, orjson.dumps({"message": "Too many requests"}), now=NOW)
    assert caught.value.status_code == status
    assert str(status) in caught.value.reason


def test_another_client_error_is_refused_without_blaming_the_credential():
    body = orjson.dumps({"error": "invalid_request", "error_description": "grantType missing"})
    with pytest.raises(RefreshRefused) as caught:
        parse_response(400, body, now=NOW)
    assert "invalid_request" in caught.value.reason


async def test_refresh_posts_the_json_body_and_parses_the_answer():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"accessToken": "at-9", "refreshToken": "rt-9", "expiresIn": 120})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        tokens = await refresh(client, _idc("eu-west-1"), FAKE, timeout_s=1)
    assert str(seen[0].url) == "http://fake/oidc/eu-west-1/token"
    assert orjson.loads(seen[0].content)["grantType"] == "refresh_token"
    assert (tokens.access_token, tokens.refresh_token) == ("at-9", "rt-9")


@pytest.mark.parametrize(
    "error",
    [httpx.ReadTimeout("slow"), httpx.ConnectTimeout("slow"), httpx.ConnectError("refused")],
    ids=["read timeout", "connect timeout", "connect error"],
)
async def test_timeouts_and_connection_errors_are_transient(error):
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    async with httpx.AsyncClient(transport=httpx.MockTransport(fail)) as client:
        with pytest.raises(TransientRefreshError):
            await refresh(client, _social(), FAKE, timeout_s=1)
