"""Quota-aware routing through the whole stack: the worker reads a Kiro account's usage limits on
its chat region's host after a refresh, and the proxy reads a custom API's rate-limit headers (OpenAI
and Anthropic style) from its answers; account_service stores both on the account. Each call sends a
message of its own (sticky sessions may pin identical conversations to one account)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_kiro_refresh import Kiro

pytestmark = pytest.mark.e2e


def _until(predicate: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := predicate()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)
    return result


def _quota(stack: Stack, key: str, account_id: str) -> dict | None:
    answer = httpx.get(
        f"{stack.account_service_url}/api/v1/accounts/{account_id}",
        headers={"authorization": f"Bearer {key}"},
    )
    answer.raise_for_status()
    return answer.json()["quota"]


@pytest.fixture
async def kiro(stack: Stack) -> AsyncIterator[Kiro]:
    kiro = Kiro(stack)
    yield kiro
    await kiro.aclose()


async def test_a_kiro_accounts_usage_limits_are_read_on_its_chat_regions_host_after_a_refresh(kiro: Kiro):
    _, auth = await kiro.user()
    token = f"rt-quota-{uuid.uuid4().hex[:10]}"
    await kiro.lineage(token, "us-east-1")
    resets_at = (datetime.now(UTC) + timedelta(days=9)).replace(microsecond=0)
    usage = {"limit": 200, "used": 150, "resets_at": resets_at.timestamp()}
    (await kiro.fake.put(f"/_fake/kiro/lineages/{token}/usage", json=usage)).raise_for_status()
    account_id = await kiro.add(auth, token, "us-east-1", api_region="eu-central-1")
    await kiro.until_status(auth, account_id, "active")

    deadline = time.monotonic() + 20
    while (quota := (await kiro.account(auth, account_id))["quota"]) is None:
        assert time.monotonic() < deadline, "the usage limits were never stored"
        await asyncio.sleep(0.1)
    assert (quota["source"], quota["remaining"], quota["limit"]) == ("kiro_usage_limits", 50, 200)
    assert quota["fraction_left"] == pytest.approx(0.25)
    assert datetime.fromisoformat(quota["resets_at"]) == resets_at
    view = (await kiro.fake.get(f"/_fake/kiro/lineages/{token}/usage")).json()
    assert view["regions"] == ["eu-central-1"], "asked on the account's chat region's host"


OPENAI_HEADERS = {
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-remaining-requests": "400",
    "x-ratelimit-reset-requests": "12s",
    "x-ratelimit-limit-tokens": "20000",
    "x-ratelimit-remaining-tokens": "5000",
    "x-ratelimit-reset-tokens": "45s",
}


def _anthropic_headers() -> dict[str, str]:
    reset = (datetime.now(UTC) + timedelta(seconds=30)).isoformat().replace("+00:00", "Z")
    return {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "15",
        "anthropic-ratelimit-requests-reset": reset,
    }


@pytest.mark.parametrize(("fmt", "fraction", "reset_s"), [("openai", 0.25, 45), ("claude", 0.3, 30)])
def test_a_custom_apis_rate_limit_headers_become_its_quota(
    stack: Stack, fmt: str, fraction: float, reset_s: int
):
    key, upstream_key, account = stack.user_with_account(fmt=fmt)
    headers = OPENAI_HEADERS if fmt == "openai" else _anthropic_headers()
    with stack.fake(fmt) as fake:
        fake.post("/_fake/config", json={"key_response_headers": {upstream_key: headers}}).raise_for_status()
        try:
            body = {
                "model": "gpt-4o-mini",
                "stream": True,
                "messages": [{"role": "user", "content": f"quota {uuid.uuid4().hex}"}],
            }
            sent = datetime.now(UTC)
            with httpx.Client(base_url=stack.proxy_url, headers={"authorization": f"Bearer {key}"}) as client:
                answer = client.post("/v1/chat/completions", json=body)
            assert answer.status_code == 200, answer.text
        finally:
            fake.post("/_fake/config", json={"key_response_headers": {}}).raise_for_status()
    quota = _until(lambda: _quota(stack, key, account["id"]))
    assert quota["source"] == "ratelimit_headers"
    assert quota["fraction_left"] == pytest.approx(fraction)
    resets_in = (datetime.fromisoformat(quota["resets_at"]) - sent).total_seconds()
    assert reset_s - 5 < resets_in < reset_s + 5
