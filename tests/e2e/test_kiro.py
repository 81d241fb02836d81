"""Kiro accounts end to end with the official SDKs: the account is validated by a real refresh at
its region's auth host (refresh_worker), then serves both client APIs through the fake Kiro's
event-stream answers (proxy_service). Failures: a refused bearer token is refreshed and the call
goes to another account; 429 and the monthly quota move to another account; a prompt that is too
long is the client's 400; a stream broken inside a tool call or by a bad CRC ends with an error.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.e2e.conftest import Stack

MODEL = "claude-sonnet-4-6"
FAKE_TEXT = "Hello from the fake"
HI = [{"role": "user", "content": "Hi"}]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
OPENAI_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": WEATHER_TOOL["input_schema"],
    },
}
pytestmark = pytest.mark.e2e


class KiroUser:
    def __init__(self, stack: Stack, key: str, accounts: dict[str, str]) -> None:
        self.stack = stack
        self.key = key
        self.accounts = accounts  # lineage (first refresh token) → account id

    def anthropic(self) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(base_url=self.stack.proxy_url, api_key=self.key, max_retries=0)

    def openai(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=f"{self.stack.proxy_url}/v1", api_key=self.key, max_retries=0)

    def account(self, account_id: str) -> dict[str, Any]:
        with httpx.Client(base_url=self.stack.account_service_url, timeout=10) as client:
            response = client.get(
                f"/api/v1/accounts/{account_id}", headers={"authorization": f"Bearer {self.key}"}
            )
            response.raise_for_status()
            return response.json()


async def _kiro_user(stack: Stack, *regions: str) -> KiroUser:
    """A user whose pool is one active Kiro account per region given (validated by the worker)."""
    name = f"kiro-{uuid.uuid4().hex[:6]}"
    await asyncio.to_thread(stack.cli, "users", "create", name)
    key = await asyncio.to_thread(stack.cli, "keys", "create", "--user", name)
    accounts: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=stack.account_service_url, timeout=10) as client:
        for region in regions:
            lineage = f"rt-{uuid.uuid4().hex}"
            response = await client.post(
                "/api/v1/accounts/kiro",
                headers={"authorization": f"Bearer {key}"},
                json={"refresh_token": lineage, "region": region},
            )
            assert response.status_code == 201, response.text
            accounts[lineage] = response.json()["id"]
        user = KiroUser(stack, key, accounts)
        deadline = time.monotonic() + 20
        while True:
            statuses = [user.account(i)["status"] for i in accounts.values()]
            if all(s == "active" for s in statuses):
                break
            assert time.monotonic() < deadline, f"accounts not validated: {statuses}\n{stack.logs()}"
            await asyncio.sleep(0.1)
    await _until_allocatable(user)
    return user


async def _until_allocatable(user: KiroUser) -> None:
    """The proxy's allocation index learns of a change through events: wait until it serves."""
    deadline = time.monotonic() + 10
    while True:
        try:
            await user.anthropic().messages.create(model=MODEL, max_tokens=16, messages=HI)
            return
        except anthropic.APIStatusError as exc:
            assert time.monotonic() < deadline, f"never allocatable: {exc}"
            await asyncio.sleep(0.1)


def _kiro(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    with stack.fake("kiro") as fake:
        response = fake.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()


def _chat_calls(stack: Stack, region: str | None = None) -> list[dict[str, Any]]:
    calls = [
        r for r in _kiro(stack, "GET", "/_fake/requests") if r["path"].endswith("/generateAssistantResponse")
    ]
    return [c for c in calls if region is None or c["kiro"]["region"] == region]


def _script(stack: Stack, lineage: str, **script: Any) -> None:
    _kiro(stack, "POST", f"/_fake/kiro/scripts/{lineage}", json={"target": "chat", **script})


# --- both client APIs -------------------------------------------------------------------------------


async def test_text_both_apis_streaming_and_not(stack: Stack) -> None:
    user = await _kiro_user(stack, "us-east-1")
    message = await user.anthropic().messages.create(model=MODEL, max_tokens=64, messages=HI)
    assert message.content[0].text == FAKE_TEXT
    assert message.model == MODEL and message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0

    async with user.anthropic().messages.stream(model=MODEL, max_tokens=64, messages=HI) as stream:
        texts = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(texts) == FAKE_TEXT and len(texts) > 1  # streamed in pieces, not one block
    assert final.stop_reason == "end_turn"

    completion = await user.openai().chat.completions.create(model=MODEL, messages=HI)
    assert completion.choices[0].message.content == FAKE_TEXT
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.prompt_tokens > 0

    chunks = await user.openai().chat.completions.create(
        model=MODEL, messages=HI, stream=True, stream_options={"include_usage": True}
    )
    text, usage = "", None
    async for chunk in chunks:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        usage = chunk.usage or usage
    assert text == FAKE_TEXT and usage is not None and usage.completion_tokens > 0


async def test_the_request_reaches_kiro_in_its_own_shape(stack: Stack) -> None:
    user = await _kiro_user(stack, "us-east-1")
    _kiro(stack, "DELETE", "/_fake/requests")
    await user.anthropic().messages.create(
        model=MODEL, max_tokens=64, system="Answer briefly.", messages=HI, tools=[WEATHER_TOOL]
    )
    (call,) = _chat_calls(stack)
    state = call["body"]["conversationState"]
    current = state["currentMessage"]["userInputMessage"]
    assert current["content"] == "Hi" and current["modelId"] == "claude-sonnet-4.6"
    assert current["userInputMessageContext"]["tools"][0]["toolSpecification"]["name"] == "get_weather"
    assert state["history"][0]["userInputMessage"]["content"] == "Answer briefly."
    assert call["body"]["profileArn"].startswith("arn:aws:codewhisperer:us-east-1:")
    assert call["headers"]["authorization"].startswith("Bearer at-")  # the refreshed access token
    assert user.key not in json.dumps(call)  # the PoolGate key never goes upstream


async def test_tool_round_trip_anthropic(stack: Stack) -> None:
    user = await _kiro_user(stack, "us-east-1")
    client = user.anthropic()
    ask = [{"role": "user", "content": "What is the weather in Paris?"}]
    async with client.messages.stream(
        model=MODEL, max_tokens=256, messages=ask, tools=[WEATHER_TOOL]
    ) as stream:
        partial = [event async for event in stream if event.type == "input_json"]
        first = await stream.get_final_message()
    assert len(partial) >= 2  # the tool's input streamed in fragments
    assert first.stop_reason == "tool_use"
    tool_use = next(b for b in first.content if b.type == "tool_use")
    assert tool_use.name == "get_weather" and tool_use.input == {"city": "Paris"}

    follow = [
        *ask,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "Sunny, 21 C"}],
        },
    ]
    answer = await client.messages.create(model=MODEL, max_tokens=256, messages=follow, tools=[WEATHER_TOOL])
    assert answer.stop_reason == "end_turn"
    assert answer.content[0].text == "The tool said: Sunny, 21 C"


async def test_tool_round_trip_openai(stack: Stack) -> None:
    user = await _kiro_user(stack, "us-east-1")
    client = user.openai()
    ask = [{"role": "user", "content": "What is the weather in Paris?"}]
    stream = await client.chat.completions.create(model=MODEL, messages=ask, tools=[OPENAI_TOOL], stream=True)
    calls: dict[int, dict[str, str]] = {}
    finish = None
    async for chunk in stream:
        for call in chunk.choices[0].delta.tool_calls or () if chunk.choices else ():
            entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += call.id or ""
            entry["name"] += call.function.name or "" if call.function else ""
            entry["arguments"] += call.function.arguments or "" if call.function else ""
        finish = (chunk.choices[0].finish_reason if chunk.choices else None) or finish
    assert finish == "tool_calls"
    call = calls[0]
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Paris"}

    follow = [
        *ask,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": call["arguments"]},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call["id"], "content": "Rainy, 12 C"},
    ]
    answer = await client.chat.completions.create(model=MODEL, messages=follow, tools=[OPENAI_TOOL])
    assert answer.choices[0].message.content == "The tool said: Rainy, 12 C"
    assert answer.choices[0].finish_reason == "stop"


async def test_thinking_both_apis(stack: Stack) -> None:
    user = await _kiro_user(stack, "us-east-1")
    thinking = {"type": "enabled", "budget_tokens": 2048}
    async with user.anthropic().messages.stream(
        model=MODEL, max_tokens=4096, messages=HI, thinking=thinking
    ) as stream:
        message = await stream.get_final_message()
    kinds = [b.type for b in message.content]
    assert kinds == ["thinking", "text"]
    assert message.content[0].thinking and "<thinking>" not in message.content[1].text
    assert message.content[1].text == FAKE_TEXT

    completion = await user.openai().chat.completions.create(
        model=MODEL, messages=HI, reasoning_effort="medium", max_completion_tokens=8192
    )
    reply = completion.choices[0].message
    assert reply.content == FAKE_TEXT
    assert getattr(reply, "reasoning_content", None)  # DeepSeek-style reasoning field


# --- regions and refreshes --------------------------------------------------------------------------


async def test_each_region_refreshes_at_its_own_host_and_chats_at_the_api_region(stack: Stack) -> None:
    regions = ("us-east-1", "ap-southeast-1", "eu-west-1")
    user = await _kiro_user(stack, *regions)
    logged = _kiro(stack, "GET", "/_fake/requests")
    for lineage in user.accounts:
        lineage_state = _kiro(stack, "GET", f"/_fake/kiro/lineages/{lineage}")
        auth_calls = [r for r in logged if r["kiro"]["host"] == "auth" and lineage in json.dumps(r["body"])]
        assert auth_calls and {r["kiro"]["region"] for r in auth_calls} == {lineage_state["region"]}
    assert sorted(
        _kiro(stack, "GET", f"/_fake/kiro/lineages/{lin}")["region"] for lin in user.accounts
    ) == sorted(regions)


async def test_a_refused_bearer_token_is_refreshed_and_the_call_goes_to_another_account(stack: Stack) -> None:
    user = await _kiro_user(stack, "us-east-1", "eu-west-1")
    revoked, other = list(user.accounts)
    before = _kiro(stack, "GET", f"/_fake/kiro/lineages/{revoked}")["refresh_count"]
    _kiro(stack, "POST", f"/_fake/kiro/lineages/{revoked}/revoke-access")
    # Calls go on until one has met the refused token (the pick is random) and the worker has
    # refreshed it; whichever account is picked first, every call is answered.
    deadline = time.monotonic() + 15
    while _kiro(stack, "GET", f"/_fake/kiro/lineages/{revoked}")["refresh_count"] == before:
        assert time.monotonic() < deadline, "the refused token was never refreshed"
        message = await user.anthropic().messages.create(model=MODEL, max_tokens=64, messages=HI)
        assert message.content[0].text == FAKE_TEXT
        await asyncio.sleep(0.05)
    # Later the refreshed account serves again: a call made with its lineage's new token succeeds.
    _kiro(stack, "POST", f"/_fake/kiro/lineages/{other}/revoke")
    _kiro(stack, "POST", f"/_fake/kiro/lineages/{other}/revoke-access")
    deadline = time.monotonic() + 15
    while True:
        try:
            message = await user.anthropic().messages.create(model=MODEL, max_tokens=64, messages=HI)
            break
        except anthropic.APIStatusError:
            assert time.monotonic() < deadline, "the refreshed account never served again"
            await asyncio.sleep(0.2)
    assert message.content[0].text == FAKE_TEXT
    assert user.account(user.accounts[revoked])["status"] == "active"


@pytest.mark.parametrize(
    ("reason", "status_after"), [("throttled", "active"), ("monthly_quota", "exhausted")]
)
async def test_throttled_and_spent_accounts_hand_the_call_to_another(
    stack: Stack, reason: str, status_after: str
) -> None:
    user = await _kiro_user(stack, "us-east-1", "ap-southeast-1")
    failing, _ = list(user.accounts)
    _script(stack, failing, reason=reason, times=1)
    # Calls go on until one has met the failing account (the pick is random: the fake drops a
    # `times: 1` script once it answered with it); every call is answered by the other one.
    deadline = time.monotonic() + 15
    while _kiro(stack, "GET", "/_fake/kiro/config")["scripts"].get(failing):
        assert time.monotonic() < deadline, "the failing account was never picked"
        message = await user.anthropic().messages.create(model=MODEL, max_tokens=64, messages=HI)
        assert message.content[0].text == FAKE_TEXT
    deadline = time.monotonic() + 10
    while user.account(user.accounts[failing])["status"] != status_after:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)


async def test_a_prompt_too_long_is_the_clients_400_in_both_shapes(stack: Stack) -> None:
    user = await _kiro_user(stack, "us-east-1")
    for lineage in user.accounts:
        _script(stack, lineage, reason="too_long")
    with pytest.raises(anthropic.BadRequestError) as claude_error:
        await user.anthropic().messages.create(model=MODEL, max_tokens=64, messages=HI)
    assert claude_error.value.body["error"]["type"] == "invalid_request_error"
    assert "prompt is too long" in claude_error.value.body["error"]["message"]
    with pytest.raises(openai.BadRequestError) as openai_error:
        await user.openai().chat.completions.create(model=MODEL, messages=HI)
    assert openai_error.value.code == "context_length_exceeded"


@pytest.mark.parametrize("fault", ["cut_mid_tool", "bad_crc"])
async def test_a_broken_stream_ends_with_an_error_never_a_normal_end(stack: Stack, fault: str) -> None:
    user = await _kiro_user(stack, "us-east-1")
    (lineage,) = user.accounts
    _script(stack, lineage, fault=fault)
    ask = [{"role": "user", "content": "What is the weather in Paris?"}]
    with pytest.raises(anthropic.APIStatusError):
        async with user.anthropic().messages.stream(
            model=MODEL, max_tokens=64, messages=ask, tools=[WEATHER_TOOL]
        ) as stream:
            async for _ in stream:
                pass
    stream = await user.openai().chat.completions.create(
        model=MODEL, messages=ask, tools=[OPENAI_TOOL], stream=True
    )
    with pytest.raises(openai.APIError):
        async for _ in stream:
            pass


async def test_an_exception_frame_after_text_ends_the_answer_as_cut_at_its_limit(stack: Stack) -> None:
    user = await _kiro_user(stack, "us-east-1")
    (lineage,) = user.accounts
    _script(stack, lineage, fault="exception_frame")
    async with user.anthropic().messages.stream(model=MODEL, max_tokens=64, messages=HI) as stream:
        message = await stream.get_final_message()
    assert message.stop_reason == "max_tokens" and message.content[0].text


async def test_keep_alive_pings_while_kiro_is_slow_to_answer(stack: Stack) -> None:
    user = await _kiro_user(stack, "us-east-1")
    _kiro(stack, "POST", "/_fake/config", json={"delay_ms": 900})
    try:
        body = {"model": MODEL, "max_tokens": 64, "messages": HI, "stream": True}
        headers = {"x-api-key": user.key, "anthropic-version": "2023-06-01"}
        async with (
            httpx.AsyncClient(timeout=30) as client,
            client.stream("POST", f"{stack.proxy_url}/v1/messages", json=body, headers=headers) as response,
        ):
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
    finally:
        _kiro(stack, "POST", "/_fake/config", json={"delay_ms": 0})
    assert response.status_code == 200
    ping = raw.find(b"event: ping")
    assert 0 <= ping < raw.find(b"event: message_start")  # pinged while waiting, then the answer
    assert raw.rstrip().endswith(b'data: {"type":"message_stop"}')
