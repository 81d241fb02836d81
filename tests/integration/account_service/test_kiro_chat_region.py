"""A Kiro account's chat region on the real service: the account view says which region and why, and
the allocation hands the proxy that region, also after a refresh has stored a new profile ARN."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.settings import DEV_SERVICE_TOKEN
from tests.integration.account_service._api import Api

SERVICE = {"authorization": f"Bearer {DEV_SERVICE_TOKEN}"}
EU_ARN = "arn:aws:codewhisperer:eu-west-1:123456789012:profile/EUPROFILE"
AP_ARN = "arn:aws:codewhisperer:ap-southeast-1:123456789012:profile/APPROFILE"


def _kiro(api: Api, key: str, **fields) -> dict:
    body = {"refresh_token": f"rt-{uuid.uuid4().hex}", "region": "eu-west-1", **fields}
    response = api.call("POST", "/accounts/kiro", key, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _renew(api: Api, account_id: str, **settings: str) -> None:
    """What the refresh worker stores after a refresh (a profile ARN when the answer named one)."""
    response = api.client.put(
        f"/internal/v1/accounts/{account_id}/credentials",
        headers=SERVICE,
        json={
            "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "secrets": {"access_token": f"at-{uuid.uuid4().hex}"},
            "settings": settings,
        },
    )
    assert response.json()["status"] == "active", response.text


def _allocated_api_region(api: Api, key: str) -> str | None:
    response = api.client.post(
        "/internal/v1/allocations", headers=SERVICE, json={"api_key": key, "model": "claude-sonnet-4-5"}
    )
    return response.json()["upstream"]["api_region"] if response.status_code == 200 else None


def _until_allocated_in(api: Api, key: str, region: str) -> None:
    """The index is rebuilt from the account's events, so the allocation follows a change shortly."""
    deadline = time.monotonic() + 10
    while (found := _allocated_api_region(api, key)) != region:
        assert time.monotonic() < deadline, f"allocated chat region stayed {found}"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({"api_region": "eu-central-1", "profile_arn": EU_ARN}, ("eu-central-1", "api_region")),
        ({"profile_arn": EU_ARN}, ("eu-west-1", "profile_arn")),
        ({"profile_arn": "arn:aws:codewhisperer:eu-west-1:x"}, ("us-east-1", "default")),
        ({}, ("us-east-1", "default")),
    ],
)
def test_the_account_view_shows_the_chat_region_and_why(api: Api, fields: dict, shown: tuple) -> None:
    _, key = api.new_user()
    created = _kiro(api, key, **fields)
    assert (created["chat_region"], created["chat_region_source"]) == shown
    read = api.call("GET", f"/accounts/{created['id']}", key).json()
    assert (read["chat_region"], read["chat_region_source"]) == shown
    listed = api.call("GET", "/accounts", key).json()["items"]
    assert [(a["chat_region"], a["chat_region_source"]) for a in listed] == [shown]


def test_other_kinds_show_no_chat_region(api: Api) -> None:
    _, key = api.new_user()
    body = {"api_base": "http://127.0.0.1:9/v1", "api_key": "sk-region-test-key", "format": "claude"}
    created = api.call("POST", "/accounts/custom_api", key, json=body).json()
    assert (created["chat_region"], created["chat_region_source"]) == (None, None)


def test_the_allocation_follows_a_profile_arn_a_refresh_stored(api: Api) -> None:
    _, key = api.new_user()
    account = _kiro(api, key, auth_type="idc", client_id="cid", client_secret="idc-secret")
    _renew(api, account["id"])
    _until_allocated_in(api, key, "us-east-1")

    _renew(api, account["id"], profile_arn=EU_ARN)
    _until_allocated_in(api, key, "eu-west-1")
    view = api.call("GET", f"/accounts/{account['id']}", key).json()
    assert (view["chat_region"], view["chat_region_source"]) == ("eu-west-1", "profile_arn")

    _renew(api, account["id"], profile_arn=AP_ARN)
    _until_allocated_in(api, key, "ap-southeast-1")


def test_an_explicit_api_region_set_later_wins_over_the_stored_profile(api: Api) -> None:
    _, key = api.new_user()
    account = _kiro(api, key, profile_arn=EU_ARN)
    _renew(api, account["id"])
    _until_allocated_in(api, key, "eu-west-1")

    changed = api.call("PATCH", f"/accounts/{account['id']}", key, json={"api_region": "us-west-2"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["chat_region"], changed.json()["chat_region_source"]) == (
        "us-west-2",
        "api_region",
    )
    _until_allocated_in(api, key, "us-west-2")
