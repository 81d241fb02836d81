"""Allocation of Dreamina accounts: the per-site image model table, the 400 for a model no account of
the pool serves, what the proxy is handed (raw sessionid, region, api_base), expiry, and the outcomes
jimeng-api's envelopes become."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from tests.integration.account_service._api import Api
from tests.integration.account_service.test_allocation import allocate, publish_usage, wait_until


def dreamina(api: Api, key: str, *, region: str, password: str = "", **fields) -> dict:
    body = {
        "email": f"{uuid.uuid4().hex[:8]}@example.com",
        "password": password,
        "region": region,
        "sessionid": uuid.uuid4().hex,
        "max_concurrency": 10000,
        **fields,
    }
    response = api.call("POST", "/accounts/dreamina", key, json=body)
    assert response.status_code == 201, response.text
    return {**response.json(), "sessionid": body["sessionid"]}


def image(api: Api, key: str, model: str | None, **extra):
    return allocate(api, key, model=model, capability="image", formats=["jimeng"], **extra)


def test_an_image_model_goes_only_to_accounts_whose_site_serves_it(api: Api) -> None:
    _, key = api.new_user()
    us = dreamina(api, key, region="us")
    hk = dreamina(api, key, region="hk")
    cn = dreamina(api, key, region="cn")
    # All three reach this replica's index through the queue; until then allocation may say 503.
    wait_until(
        lambda: (
            {image(api, key, "jimeng-4.0").json().get("account", {}).get("id") for _ in range(30)}
            >= {us["id"], hk["id"], cn["id"]}
        )
    )
    served = {
        model: Counter(image(api, key, model).json()["account"]["region"] for _ in range(30))
        for model in ("jimeng-5.0", "nanobanana", "jimeng-3.1")
    }
    assert set(served["jimeng-5.0"]) == {"hk", "cn"}  # not the US site
    assert set(served["nanobanana"]) == {"us", "hk"}  # not the CN site (it would silently swap models)
    assert set(served["jimeng-3.1"]) == {"cn"}


def test_a_model_no_account_of_the_pool_serves_is_a_400_naming_the_regions_that_do(api: Api) -> None:
    _, key = api.new_user()
    dreamina(api, key, region="us")
    wait_until(lambda: image(api, key, "jimeng-4.0").status_code == 200)
    refused = image(api, key, "jimeng-5.0")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["param"] == "model" and error["code"] == "model_not_found"
    assert "'jimeng-5.0'" in error["message"] and "cn, hk, jp, sg" in error["message"]
    assert "region us" in error["message"]
    unknown = image(api, key, "dall-e-3")
    assert unknown.status_code == 400
    assert "not a Dreamina image model" in unknown.json()["error"]["message"]


def test_no_dreamina_account_at_all_is_still_the_503_nothing_configured(api: Api) -> None:
    _, key = api.new_user()
    refused = image(api, key, "jimeng-4.0")
    assert refused.status_code == 503
    assert "no active account is configured" in refused.json()["error"]["message"]


def test_any_video_model_goes_to_any_region_and_chat_never_to_dreamina(api: Api) -> None:
    _, key = api.new_user()
    us = dreamina(api, key, region="us")
    video = allocate(api, key, model="jimeng-video-3.5-pro", capability="video", formats=["jimeng"])
    video = wait_until(
        lambda: (r := allocate(api, key, model="any-video", capability="video")).status_code == 200 and r
    )
    assert video.json()["account"]["id"] == us["id"]
    assert allocate(api, key, model="jimeng-4.0").status_code == 503  # chat


def test_the_proxy_is_handed_the_raw_sessionid_the_region_and_the_accounts_own_api_base(api: Api) -> None:
    _, key = api.new_user()
    account = dreamina(api, key, region="jp", api_base="https://jimeng.example.com/")
    answer = wait_until(lambda: (r := image(api, key, "jimeng-4.0")).status_code == 200 and r.json())
    assert answer["account"]["region"] == "jp"
    assert answer["upstream"]["credential"] == account["sessionid"]  # the proxy adds the prefix
    assert answer["upstream"]["region"] == "jp"
    assert answer["upstream"]["url"] == "https://jimeng.example.com"
    assert answer["upstream"]["format"] == "jimeng"


def test_an_expired_cn_account_stays_allocatable_and_an_expired_us_one_does_not(api: Api) -> None:
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    _, cn_key = api.new_user()
    cn = dreamina(api, cn_key, region="cn", sessionid_expires_at=past)
    answer = wait_until(lambda: (r := image(api, cn_key, "jimeng-4.0")).status_code == 200 and r.json())
    assert answer["account"]["id"] == cn["id"]
    _, us_key = api.new_user()
    dreamina(api, us_key, region="us", sessionid_expires_at=past)
    # Until it reaches the index, allocation says nothing is configured; then that it has expired.
    refused = wait_until(lambda: "expired credentials" in (r := image(api, us_key, "jimeng-4.0")).text and r)
    assert refused.status_code == 503


def test_a_rejected_sessionid_goes_to_the_worker_and_the_account_is_not_invalidated(api: Api) -> None:
    _, key = api.new_user()
    for region in ("cn", "us"):  # neither can log in; the worker asks jimeng-api whether it lives
        account = dreamina(api, key, region=region)
        tap = api.tap()
        try:
            publish_usage(api, account["id"], "credential_rejected", status_code=502, upstream_code=-2002)
            events = tap.wait_for(
                lambda seen, a=account: any(
                    e["type"] == "account.credential_rejected" and e["data"]["account_id"] == a["id"]
                    for e in seen
                )
            )
        finally:
            tap.close()
        rejected = next(e for e in events if e["type"] == "account.credential_rejected")
        assert rejected["data"]["kind"] == "dreamina"
        assert rejected["data"]["reason"] == "upstream rejected the credential (upstream code -2002)"
        assert api.call("GET", f"/accounts/{account['id']}", key).json()["status"] == "active"


def test_no_credits_makes_the_account_exhausted_until_the_next_day(api: Api) -> None:
    _, key = api.new_user()
    account = dreamina(api, key, region="hk")
    publish_usage(api, account["id"], "exhausted", status_code=429, upstream_code=-2009)
    got = wait_until(
        lambda: (
            (a := api.call("GET", f"/accounts/{account['id']}", key).json())["status"] == "exhausted" and a
        )
    )
    assert got["status_reason"] == "upstream quota exhausted (upstream code -2009)"
    until = datetime.fromisoformat(got["status_until"])
    assert until > datetime.now(UTC) and until - datetime.now(UTC) <= timedelta(days=1)
    assert (until.hour, until.minute) == (0, 0)
