"""Both client APIs over custom accounts of either format, with the official SDKs: the four paths,
streaming and not, a tool round trip, thinking/reasoning, failover across formats, a mid-stream
failure, and an Azure-style account."""

from __future__ import annotations

import json
import uuid

import anthropic
import openai
import pytest

from tests.e2e.conftest import Stack
from tests.fakes._content import THINKING_TEXT
from tests.fakes.openai_upstream import REASONING_TEXT

FAKE_TEXT = "Hello from the fake"
MODEL = "claude-sonnet-4-6"
pytestmark = pytest.mark.e2e

OPENAI_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
CLAUDE_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
QUESTION = "What is the weather in Paris?"


def _user(stack: Stack, *accounts: dict) -> str:
    """A user whose pool is exactly `accounts`; returns their PoolGate key."""
    name = f"conv-{uuid.uuid4().hex[:6]}"
    stack.cli("users", "create", name)
    key = stack.cli("keys", "create", "--user", name)
    for account in accounts:
        fmt = account["format"]
        base = account.get("api_base") or (
            f"{stack.openai_url}/v1" if fmt == "openai" else stack.anthropic_url
        )
        args = [
            "accounts",
            "add-custom",
            "--user",
            name,
            "--api-base",
            base,
            "--format",
            fmt,
            "--api-key",
            account.get("api_key", f"sk-{fmt}-{name}"),
        ]
        if account.get("provider"):
            args += ["--provider", account["provider"]]
        stack.cli(*args)
    return key


def _openai(stack: Stack, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{stack.proxy_url}/v1", api_key=key, max_retries=0)


def _anthropic(stack: Stack, key: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=stack.proxy_url, api_key=key, max_retries=0)


def _last_request(stack: Stack, which: str) -> dict:
    with stack.fake(which) as fake:
        return fake.get("/_fake/requests").json()[-1]


@pytest.mark.parametrize("account_format", ["openai", "claude"])
async def test_openai_client_text_both_ways(stack: Stack, account_format: str) -> None:
    client = _openai(stack, _user(stack, {"format": account_format}))
    reply = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert reply.choices[0].message.content == FAKE_TEXT
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == MODEL
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0

    stream = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = "", None, None
    async for chunk in stream:
        assert chunk.model == MODEL
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        usage = chunk.usage or usage
    assert (text, finish) == (FAKE_TEXT, "stop")
    assert usage is not None and usage.completion_tokens > 0


@pytest.mark.parametrize("account_format", ["openai", "claude"])
async def test_anthropic_client_text_both_ways(stack: Stack, account_format: str) -> None:
    client = _anthropic(stack, _user(stack, {"format": account_format}))
    message = await client.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    )
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == FAKE_TEXT
    assert (message.stop_reason, message.model) == ("end_turn", MODEL)
    assert message.usage.output_tokens > 0

    async with client.messages.stream(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    ) as s:
        types = [event.type async for event in s]
        final = await s.get_final_message()
    assert final.content[0].text == FAKE_TEXT
    assert types[0] == "message_start" and types.count("message_stop") == 1
    assert final.usage.output_tokens > 0


@pytest.mark.parametrize("account_format", ["openai", "claude"])
@pytest.mark.parametrize("stream", [False, True])
async def test_openai_client_tool_round_trip(stack: Stack, account_format: str, stream: bool) -> None:
    client = _openai(stack, _user(stack, {"format": account_format}))
    question = [{"role": "user", "content": QUESTION}]
    if stream:
        calls: dict[int, dict] = {}
        finish = None
        async for chunk in await client.chat.completions.create(
            model=MODEL, messages=question, tools=[OPENAI_TOOL], stream=True
        ):
            for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                entry = calls.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
                entry["id"] = call.id or entry["id"]
                entry["name"] += (call.function.name or "") if call.function else ""
                entry["arguments"] += (call.function.arguments or "") if call.function else ""
            if chunk.choices and chunk.choices[0].finish_reason:
                finish = chunk.choices[0].finish_reason
        assert list(calls) == [0]
        call_id, name, arguments = calls[0]["id"], calls[0]["name"], calls[0]["arguments"]
    else:
        reply = await client.chat.completions.create(model=MODEL, messages=question, tools=[OPENAI_TOOL])
        finish = reply.choices[0].finish_reason
        call = reply.choices[0].message.tool_calls[0]
        call_id, name, arguments = call.id, call.function.name, call.function.arguments
    assert (finish, name, json.loads(arguments)) == ("tool_calls", "get_weather", {"city": "Paris"})

    answer = await client.chat.completions.create(
        model=MODEL,
        tools=[OPENAI_TOOL],
        messages=[
            *question,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
                ],
            },
            {"role": "tool", "tool_call_id": call_id, "content": "18°C and sunny"},
        ],
    )
    assert answer.choices[0].message.content == FAKE_TEXT
    # The upstream got the tool result in its own format, tied to the call it answers.
    sent = _last_request(stack, account_format)["body"]
    if account_format == "claude":
        result = sent["messages"][-1]["content"][0]
        assert (result["type"], result["tool_use_id"]) == ("tool_result", call_id)
    else:
        assert sent["messages"][-1] == {"role": "tool", "tool_call_id": call_id, "content": "18°C and sunny"}


@pytest.mark.parametrize("account_format", ["openai", "claude"])
@pytest.mark.parametrize("stream", [False, True])
async def test_anthropic_client_tool_round_trip(stack: Stack, account_format: str, stream: bool) -> None:
    client = _anthropic(stack, _user(stack, {"format": account_format}))
    question = [{"role": "user", "content": QUESTION}]
    if stream:
        async with client.messages.stream(
            model=MODEL, max_tokens=256, tools=[CLAUDE_TOOL], messages=question
        ) as s:
            message = await s.get_final_message()
    else:
        message = await client.messages.create(
            model=MODEL, max_tokens=256, tools=[CLAUDE_TOOL], messages=question
        )
    assert message.stop_reason == "tool_use"
    tool_use = next(b for b in message.content if b.type == "tool_use")
    assert (tool_use.name, tool_use.input) == ("get_weather", {"city": "Paris"})

    answer = await client.messages.create(
        model=MODEL,
        max_tokens=256,
        tools=[CLAUDE_TOOL],
        messages=[
            *question,
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "18°C"}],
            },
        ],
    )
    assert answer.content[-1].text == FAKE_TEXT
    sent = _last_request(stack, account_format)["body"]
    if account_format == "openai":
        assert sent["messages"][-1]["role"] == "tool"
        assert sent["messages"][-1]["tool_call_id"] == tool_use.id
    else:
        assert sent["messages"][-1]["content"][0]["tool_use_id"] == tool_use.id


async def test_anthropic_client_gets_thinking_from_an_openai_reasoning_model(stack: Stack) -> None:
    client = _anthropic(stack, _user(stack, {"format": "openai", "provider": "deepseek"}))
    kwargs = {
        "model": "deepseek-reasoner",
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": "Hi"}],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    message = await client.messages.create(**kwargs)
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == REASONING_TEXT
    async with client.messages.stream(**kwargs) as s:
        final = await s.get_final_message()
    assert final.content[0].thinking == REASONING_TEXT and final.content[1].text == FAKE_TEXT


async def test_openai_client_gets_reasoning_from_claude_thinking(stack: Stack) -> None:
    client = _openai(stack, _user(stack, {"format": "claude"}))
    reply = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], reasoning_effort="high"
    )
    assert _last_request(stack, "claude")["body"]["thinking"]["type"] == "enabled"
    assert reply.choices[0].message.model_extra["reasoning_content"] == THINKING_TEXT
    assert reply.choices[0].message.content == FAKE_TEXT


async def test_a_rate_limited_account_fails_over_to_one_of_the_other_format(stack: Stack) -> None:
    limited = f"sk-ant-limited-{uuid.uuid4().hex[:6]}"
    with stack.fake("anthropic") as fake:
        fake.post(f"/_fake/keys/{limited}", json={"status": 429, "retry_after": 5}).raise_for_status()
    client = _openai(stack, _user(stack, {"format": "claude", "api_key": limited}, {"format": "openai"}))
    for _ in range(6):  # whichever account is drawn first, every call is answered
        reply = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Hi"}]
        )
        assert reply.choices[0].message.content == FAKE_TEXT


@pytest.mark.parametrize("account_format", ["openai", "claude"])
async def test_a_mid_stream_failure_ends_the_stream_with_an_error_not_a_normal_end(
    stack: Stack, account_format: str
) -> None:
    broken = f"sk-broken-{uuid.uuid4().hex[:6]}"
    with stack.fake(account_format) as fake:
        fake.post(f"/_fake/keys/{broken}", json={"break_after_chunks": 3}).raise_for_status()
    key = _user(stack, {"format": account_format, "api_key": broken})
    with pytest.raises(anthropic.APIError):
        async with _anthropic(stack, key).messages.stream(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
        ) as s:
            async for _ in s:
                pass
    with pytest.raises(openai.APIError):
        async for _ in await _openai(stack, key).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True
        ):
            pass


async def test_an_azure_style_account(stack: Stack) -> None:
    key = _user(
        stack,
        {
            "format": "openai",
            "provider": "azure",
            "api_key": "azure-key-1",
            "api_base": f"{stack.openai_url}/openai/deployments/gpt-4o-prod",
        },
    )
    reply = await _anthropic(stack, key).messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    )
    assert reply.content[0].text == FAKE_TEXT
    sent = _last_request(stack, "openai")
    assert sent["path"] == "/openai/deployments/gpt-4o-prod/chat/completions"
    assert "api-version" in sent["query"]
    assert sent["headers"]["api-key"] == "azure-key-1"
    assert "authorization" not in sent["headers"]
