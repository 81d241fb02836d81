"""`/v1/models` and `/v1/messages/count_tokens` through the whole stack, with the official SDKs.

Custom accounts with explicit model lists make the pool (Kiro accounts become active only after a
refresh; their models are covered by tests/integration/account_service/test_internal_models.py).
"""

from __future__ import annotations

import asyncio
import time
import uuid

import anthropic
import httpx
import openai
import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

OPENAI_MODELS = ["gpt-4o", "gpt-4o-mini"]
CLAUDE_MODELS = ["claude-sonnet-4-5-20250929", "openrouter-vendor/some-model"]
ALL_MODELS = sorted(OPENAI_MODELS + CLAUDE_MODELS)
QUESTION = "What is the weather in Paris today? Answer in one short sentence, please."
TOOL = {
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "input_schema": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
}


@pytest.fixture(scope="module")
def key(stack: Stack) -> str:
    """A user whose pool is two custom accounts with explicit model lists; their PoolGate key."""
    name = f"models-{uuid.uuid4().hex[:6]}"
    stack.cli("users", "create", name)
    key = stack.cli("keys", "create", "--user", name)
    for fmt, base, models in (
        ("openai", f"{stack.openai_url}/v1", OPENAI_MODELS),
        ("claude", stack.anthropic_url, CLAUDE_MODELS),
    ):
        stack.cli(
            "accounts",
            "add-custom",
            "--user",
            name,
            "--api-base",
            base,
            "--api-key",
            f"sk-{fmt}-{name}",
            "--format",
            fmt,
            "--models",
            ",".join(models),
        )
    _wait_for_models(stack, key, len(ALL_MODELS))
    return key


def _wait_for_models(stack: Stack, key: str, count: int) -> None:
    """Until account_service's index has both accounts (they arrive as events)."""
    deadline = time.monotonic() + 15
    while True:
        response = httpx.get(f"{stack.proxy_url}/v1/models", headers={"authorization": f"Bearer {key}"})
        if response.status_code == 200 and len(response.json()["data"]) == count:
            return
        assert time.monotonic() < deadline, response.text
        time.sleep(0.1)


def _openai(stack: Stack, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{stack.proxy_url}/v1", api_key=key, max_retries=0)


def _anthropic(stack: Stack, key: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=stack.proxy_url, api_key=key, max_retries=0)


async def test_openai_sdk_lists_the_pools_models(stack: Stack, key: str) -> None:
    page = await _openai(stack, key).models.list()
    assert [m.id for m in page.data] == ALL_MODELS
    assert all(m.object == "model" and isinstance(m.created, int) for m in page.data)
    owners = {m.id: m.owned_by for m in page.data}
    assert owners["gpt-4o"] == "openai" and owners["claude-sonnet-4-5-20250929"] == "anthropic"


async def test_anthropic_sdk_lists_the_pools_models_page_by_page(stack: Stack, key: str) -> None:
    client = _anthropic(stack, key)
    page = await client.models.list()
    assert [m.id for m in page.data] == ALL_MODELS and page.has_more is False
    sonnet = next(m for m in page.data if m.id == "claude-sonnet-4-5-20250929")
    assert sonnet.type == "model" and sonnet.display_name == "Claude Sonnet 4.5"
    assert sonnet.created_at.year == 2025 and sonnet.created_at.month == 9
    # The SDK follows the cursor (`after_id`) while `has_more` says so.
    assert [m.id async for m in client.models.list(limit=1)] == ALL_MODELS


async def test_retrieving_a_model_finds_served_ones_and_404s_others(stack: Stack, key: str) -> None:
    assert (await _openai(stack, key).models.retrieve("gpt-4o-mini")).id == "gpt-4o-mini"
    assert (await _openai(stack, key).models.retrieve("openrouter-vendor/some-model")).owned_by == (
        "openrouter-vendor"
    )
    info = await _anthropic(stack, key).models.retrieve("claude-sonnet-4-5-20250929")
    assert info.id == "claude-sonnet-4-5-20250929" and info.type == "model"
    with pytest.raises(openai.NotFoundError):
        await _openai(stack, key).models.retrieve("not-a-model")
    with pytest.raises(anthropic.NotFoundError) as caught:
        await _anthropic(stack, key).models.retrieve("claude-opus-4-6")
    assert caught.value.body["error"]["type"] == "not_found_error"


async def test_count_tokens_estimates_the_request(stack: Stack, key: str) -> None:
    client = _anthropic(stack, key)
    messages = [{"role": "user", "content": QUESTION}]
    short = await client.messages.count_tokens(model="claude-sonnet-4-5", messages=messages)
    assert 15 <= short.input_tokens <= 40
    longer = await client.messages.count_tokens(
        model="claude-sonnet-4-5", system="You are a terse assistant.", messages=messages, tools=[TOOL]
    )
    assert longer.input_tokens > short.input_tokens + 20
    # Claude Code's call: the beta client adds `?beta=true`.
    beta = await client.beta.messages.count_tokens(model="claude-sonnet-4-5", messages=messages)
    assert beta.input_tokens == short.input_tokens


async def test_count_tokens_names_the_bad_field(stack: Stack, key: str) -> None:
    async with httpx.AsyncClient(base_url=stack.proxy_url) as client:
        response = await client.post(
            "/v1/messages/count_tokens",
            headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
            json={"model": "claude-sonnet-4-5", "messages": [{"role": "robot", "content": "hi"}]},
        )
    assert response.status_code == 400
    assert response.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "`messages.0.role` must be user or assistant"},
    }
    with pytest.raises(anthropic.BadRequestError, match="messages"):
        await _anthropic(stack, key).messages.count_tokens(model="claude-sonnet-4-5", messages="hi")  # type: ignore[arg-type]


async def test_a_bad_key_is_refused_in_each_clients_own_shape(stack: Stack) -> None:
    bad = "pg-" + uuid.uuid4().hex
    with pytest.raises(openai.AuthenticationError) as openai_error:
        await _openai(stack, bad).models.list()
    assert openai_error.value.body["type"] == "authentication_error"
    with pytest.raises(anthropic.AuthenticationError) as anthropic_error:
        await _anthropic(stack, bad).models.list()
    assert anthropic_error.value.body["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.AuthenticationError):
        await _anthropic(stack, bad).messages.count_tokens(
            model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}]
        )
    async with httpx.AsyncClient(base_url=stack.proxy_url) as client:
        missing = await client.post("/v1/messages/count_tokens?beta=true", json={})
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"


async def test_a_user_without_accounts_has_an_empty_list(stack: Stack) -> None:
    name = f"empty-{uuid.uuid4().hex[:6]}"
    stack.cli("users", "create", name)
    key = stack.cli("keys", "create", "--user", name)
    openai_page, anthropic_page = await asyncio.gather(
        _openai(stack, key).models.list(), _anthropic(stack, key).models.list()
    )
    assert openai_page.data == [] and anthropic_page.data == []
    assert anthropic_page.first_id is None and anthropic_page.has_more is False
