"""The fake Kiro's refresh answers name the profile a lineage was given (IdC profiles live in their own
region); without one, a social answer names the fake's default profile and an IdC answer names none."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.fakes import kiro_upstream

IDC_ARN = "arn:aws:codewhisperer:eu-west-1:123456789012:profile/IDCPROFILE"
CLIENT = {"client_id": "cid", "client_secret": "secret"}


@pytest.fixture
async def kiro():
    async with TestClient(TestServer(kiro_upstream.create_app())) as client:
        yield client


async def _lineage(kiro, token, *, auth="social", region="eu-west-1", **extra):
    body = {"refresh_token": token, "region": region, "auth": auth, **extra}
    resp = await kiro.post("/_fake/kiro/lineages", json=body)
    assert resp.status == 200, await resp.text()


async def _refresh(kiro, token, *, auth="social", region="eu-west-1") -> dict:
    if auth == "social":
        resp = await kiro.post(f"/auth/{region}/refreshToken", json={"refreshToken": token})
    else:
        body = {
            "clientId": "cid",
            "clientSecret": "secret",
            "grantType": "refresh_token",
            "refreshToken": token,
        }
        resp = await kiro.post(f"/oidc/{region}/token", json=body)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _set_arn(kiro, lineage, arn):
    return await kiro.put(f"/_fake/kiro/lineages/{lineage}/profile-arn", json={"profile_arn": arn})


async def test_an_idc_refresh_names_no_profile_unless_the_lineage_was_given_one(kiro):
    await _lineage(kiro, "rt-idc-plain", auth="idc", **CLIENT)
    assert "profileArn" not in await _refresh(kiro, "rt-idc-plain", auth="idc")

    await _lineage(kiro, "rt-idc-arn", auth="idc", profile_arn=IDC_ARN, **CLIENT)
    answer = await _refresh(kiro, "rt-idc-arn", auth="idc")
    assert answer["profileArn"] == IDC_ARN
    assert set(answer) == {"accessToken", "refreshToken", "expiresIn", "tokenType", "profileArn"}


async def test_a_lineages_profile_can_change_and_later_refreshes_answer_the_new_one(kiro):
    await _lineage(kiro, "rt-idc-change", auth="idc", **CLIENT)
    assert "profileArn" not in await _refresh(kiro, "rt-idc-change", auth="idc")

    resp = await _set_arn(kiro, "rt-idc-change", IDC_ARN)
    assert (resp.status, await resp.json()) == (200, {"lineage": "rt-idc-change", "profile_arn": IDC_ARN})
    assert (await _refresh(kiro, "rt-idc-change.r1", auth="idc"))["profileArn"] == IDC_ARN

    assert (await _set_arn(kiro, "rt-idc-change", None)).status == 200
    assert "profileArn" not in await _refresh(kiro, "rt-idc-change.r2", auth="idc")


async def test_a_social_refresh_names_the_lineages_profile_or_else_the_default_one(kiro):
    default = "arn:aws:codewhisperer:eu-west-1:699475941385:profile/FAKE"
    await _lineage(kiro, "rt-social-arn")
    assert (await _refresh(kiro, "rt-social-arn"))["profileArn"] == default
    other = "arn:aws:codewhisperer:us-east-1:699475941385:profile/OTHER"
    assert (await _set_arn(kiro, "rt-social-arn", other)).status == 200
    assert (await _refresh(kiro, "rt-social-arn.r1"))["profileArn"] == other


@pytest.mark.parametrize(
    "body", [{}, {"profile_arn": ""}, {"profile_arn": 7}, {"profile_arn": None, "x": 1}, []]
)
async def test_a_malformed_profile_change_is_refused(kiro, body):
    await _lineage(kiro, "rt-bad-change")
    resp = await kiro.put("/_fake/kiro/lineages/rt-bad-change/profile-arn", json=body)
    assert resp.status == 400


async def test_the_profile_of_an_unknown_lineage_cannot_be_set(kiro):
    assert (await _set_arn(kiro, "rt-nobody", IDC_ARN)).status == 404


async def test_a_lineage_registered_with_a_non_string_profile_is_refused(kiro):
    body = {"refresh_token": "rt-x", "region": "eu-west-1", "profile_arn": 1}
    assert (await kiro.post("/_fake/kiro/lineages", json=body)).status == 400
