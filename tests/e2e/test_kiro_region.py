"""Kiro's chat region through the whole stack: an account's calls go to the chat host of its explicit
`api_region`, else of the region its profile ARN lives in (an IdC profile, learnt from a refresh),
else us-east-1; the account view says which region is used and why.

The fake Kiro names the region of the chat host each call was meant for (`/q/{api_region}/...`), and
each test's prompts carry a marker of their own, so its calls are told apart from other tests' calls.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import anthropic
import httpx
import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
MODEL = "claude-sonnet-4-6"
IDC_ARN = "arn:aws:codewhisperer:eu-west-1:123456789012:profile/IDCPROFILE"
CLIENT = {"client_id": "idc-client-id", "client_secret": "idc-client-secret"}


class KiroAccount:
    """One user with one Kiro account, its lineage at the fake, and a marker in every prompt it sends."""

    def __init__(self, stack: Stack, key: str, token: str) -> None:
        self.stack = stack
        self.key = key
        self.token = token
        self.id = ""
        self.marker = f"region-probe-{uuid.uuid4().hex}"
        self.auth = {"authorization": f"Bearer {key}"}

    async def view(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.stack.account_service_url, timeout=10) as client:
            response = await client.get(f"/api/v1/accounts/{self.id}", headers=self.auth)
        response.raise_for_status()
        return response.json()

    async def until_view(self, done: Any, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + 20
        while not done(view := await self.view()):
            assert time.monotonic() < deadline, f"never {what}: {view}"
            await asyncio.sleep(0.1)
        return view

    async def request_refresh(self) -> None:
        async with httpx.AsyncClient(base_url=self.stack.account_service_url, timeout=10) as client:
            response = await client.post(f"/api/v1/accounts/{self.id}/refresh", headers=self.auth)
        assert response.status_code == 202, response.text

    async def call(self) -> None:
        """One chat call, retried while the proxy's allocation index has not yet learnt of the account."""
        client = anthropic.AsyncAnthropic(base_url=self.stack.proxy_url, api_key=self.key, max_retries=0)
        prompt = [{"role": "user", "content": f"Hi ({self.marker})"}]
        deadline = time.monotonic() + 10
        async with client:
            while True:
                try:
                    await client.messages.create(model=MODEL, max_tokens=16, messages=prompt)
                    return
                except anthropic.APIStatusError as exc:
                    assert time.monotonic() < deadline, f"never served: {exc}"
                    await asyncio.sleep(0.1)

    def chat_calls(self) -> list[dict[str, Any]]:
        """This account's calls at the fake's chat host, oldest first."""
        with self.stack.fake("kiro") as fake:
            logged = fake.get("/_fake/requests").raise_for_status().json()
        return [
            entry
            for entry in logged
            if entry["path"].endswith("/generateAssistantResponse")
            and self.marker in json.dumps(entry["body"])
        ]

    def chat_regions(self) -> list[str]:
        return [entry["kiro"]["region"] for entry in self.chat_calls()]


async def _account(
    stack: Stack, region: str, *, profile_arn: str | None = None, **client: str
) -> KiroAccount:
    """A new user's Kiro account whose token is registered with the fake (its refreshes answer
    `profile_arn` when given), once the refresh worker has made it active."""
    name = f"kiro-region-{uuid.uuid4().hex[:6]}"
    await asyncio.to_thread(stack.cli, "users", "create", name)
    key = await asyncio.to_thread(stack.cli, "keys", "create", "--user", name)
    account = KiroAccount(stack, key, f"rt-region-{uuid.uuid4().hex[:10]}")
    lineage = {"refresh_token": account.token, "region": region, "auth": "idc" if client else "social"}
    lineage |= client | ({"profile_arn": profile_arn} if profile_arn else {})
    with stack.fake("kiro") as fake:
        fake.post("/_fake/kiro/lineages", json=lineage).raise_for_status()
    async with httpx.AsyncClient(base_url=stack.account_service_url, timeout=10) as http:
        body = {"refresh_token": account.token, "region": region, **client}
        response = await http.post("/api/v1/accounts/kiro", headers=account.auth, json=body)
    assert response.status_code == 201, response.text
    account.id = response.json()["id"]
    await account.until_view(lambda view: view["status"] == "active", "active")
    return account


async def test_an_idc_token_whose_refresh_names_an_eu_west_1_profile_chats_at_the_eu_west_1_host(
    stack: Stack,
) -> None:
    idc = await _account(stack, "eu-west-1", profile_arn=IDC_ARN, **CLIENT)
    view = await idc.view()
    assert view["settings"]["auth_type"] == "idc" and view["settings"]["profile_arn"] == IDC_ARN
    assert (view["chat_region"], view["chat_region_source"]) == ("eu-west-1", "profile_arn")

    for _ in range(3):
        await idc.call()
    assert idc.chat_regions() == ["eu-west-1"] * 3
    assert {entry["body"]["profileArn"] for entry in idc.chat_calls()} == {IDC_ARN}


async def test_a_social_tokens_calls_go_to_the_us_east_1_host(stack: Stack) -> None:
    social = await _account(stack, "us-east-1")
    view = await social.view()
    assert view["settings"]["auth_type"] == "social"
    assert view["settings"]["profile_arn"].startswith("arn:aws:codewhisperer:us-east-1:")
    assert (view["chat_region"], view["chat_region_source"]) == ("us-east-1", "profile_arn")

    for _ in range(3):
        await social.call()
    assert social.chat_regions() == ["us-east-1"] * 3


async def test_an_idc_token_without_a_profile_chats_at_us_east_1_until_a_refresh_names_one(
    stack: Stack,
) -> None:
    idc = await _account(stack, "eu-west-1", **CLIENT)
    view = await idc.view()
    assert view["settings"]["profile_arn"] is None
    assert (view["chat_region"], view["chat_region_source"]) == ("us-east-1", "default")
    await idc.call()
    assert idc.chat_regions() == ["us-east-1"]

    # The next refresh answers a profile: it is stored, and the allocation index (rebuilt from the
    # `account.updated` event) hands the account out with its region from then on.
    with stack.fake("kiro") as fake:
        fake.put(
            f"/_fake/kiro/lineages/{idc.token}/profile-arn", json={"profile_arn": IDC_ARN}
        ).raise_for_status()
    await idc.request_refresh()
    view = await idc.until_view(lambda view: view["settings"]["profile_arn"] == IDC_ARN, "given the profile")
    assert (view["chat_region"], view["chat_region_source"]) == ("eu-west-1", "profile_arn")
    deadline = time.monotonic() + 10
    while idc.chat_regions()[-1] != "eu-west-1":
        assert time.monotonic() < deadline, f"calls never moved to eu-west-1: {idc.chat_regions()}"
        await idc.call()
    await idc.call()
    regions = idc.chat_regions()
    switched = regions.index("eu-west-1")
    assert regions[switched:] == ["eu-west-1"] * (len(regions) - switched)
    assert all(entry["body"]["profileArn"] == IDC_ARN for entry in idc.chat_calls()[switched:])
