"""The fake Anthropic upstream, driven by the official anthropic SDK and by raw HTTP."""

from __future__ import annotations

import json

import anthropic
import pytest

from tests.unit.fakes.sse_helpers import TRANSPORT_ERRORS, parse_sse

MESSAGES = [{"role": "user", "content": "Say hello"}]  # 9 chars -> 3 input tokens
WEATHER = [{"role": "user", "content": [{"type": "text", "text": "What is the weather in Paris?"}]}]
TOOLS = [
    {
        "name": "get_weather",
        "description": "Current weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]
THINKING = {"type": "enabled", "budget_tokens": 1024}
HEADERS = {"x-api-key": "sk-ant-test-1", "anthropic-version": "2023-06-01"}
KEY_URL = "/_fake/keys/sk-ant-test-1"


async def test_non_streaming_text(claude):
    message = await claude.messages.create(model="claude-fake-1", max_tokens=64, messages=MESSAGES)

    assert message.id.startswith("msg_")
    assert (message.type, message.role, message.model) == ("message", "assistant", "claude-fake-1")
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "Hello from the fake"
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (3, 5)
    assert message.usage.cache_creation_input_tokens == 0
    assert message.usage.cache_read_input_tokens == 0


async def test_streaming_text(claude):
    async with claude.messages.stream(model="m", max_tokens=64, messages=MESSAGES) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()

    assert len(pieces) == 5
    assert "".join(pieces) == "Hello from the fake"
    assert final.content[0].text == "Hello from the fake"
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (3, 5)


async def test_stream_wire_format(anthropic_fake):
    body = {"model": "m", "max_tokens": 64, "messages": MESSAGES, "stream": True}
    resp = await anthropic_fake.post("/v1/messages?beta=true", json=body, headers=HEADERS)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    frames = parse_sse(await resp.text())
    names = [name for name, _ in frames]

    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 5,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    payloads = [json.loads(data) for _, data in frames]
    assert all(p["type"] == name for name, p in zip(names, payloads, strict=True))
    start = payloads[0]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["input_tokens"] == 3
    assert payloads[1]["content_block"] == {"type": "text", "text": ""}
    assert payloads[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert payloads[-2]["usage"] == {"output_tokens": 5}


async def test_tool_use_non_streaming(claude):
    message = await claude.messages.create(model="m", max_tokens=64, messages=WEATHER, tools=TOOLS)

    (block,) = message.content
    assert block.type == "tool_use"
    assert block.id.startswith("toolu_")
    assert (block.name, block.input) == ("get_weather", {"city": "Paris"})
    assert message.stop_reason == "tool_use"


async def test_tool_use_streaming(claude):
    partials = []
    async with claude.messages.stream(model="m", max_tokens=64, messages=WEATHER, tools=TOOLS) as stream:
        async for event in stream:
            if event.type == "content_block_delta":
                assert event.delta.type == "input_json_delta"
                partials.append(event.delta.partial_json)
        final = await stream.get_final_message()

    assert len(partials) > 2
    assert json.loads("".join(partials)) == {"city": "Paris"}
    assert final.content[0].input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"


async def test_tool_result_turn_gets_text(claude):
    messages = [
        *WEATHER,
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]},
    ]
    message = await claude.messages.create(model="m", max_tokens=64, messages=messages, tools=TOOLS)
    assert message.content[0].text == "Hello from the fake"


async def test_thinking_non_streaming(claude):
    message = await claude.messages.create(model="m", max_tokens=2048, messages=MESSAGES, thinking=THINKING)

    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking
    assert message.content[0].signature
    assert message.content[1].text == "Hello from the fake"


async def test_thinking_streaming(claude):
    delta_types = []
    async with claude.messages.stream(
        model="m", max_tokens=2048, messages=MESSAGES, thinking=THINKING
    ) as stream:
        async for event in stream:
            if event.type == "content_block_delta":
                delta_types.append((event.index, event.delta.type))
        final = await stream.get_final_message()

    assert delta_types[:3] == [(0, "thinking_delta"), (0, "thinking_delta"), (0, "signature_delta")]
    assert set(delta_types[3:]) == {(1, "text_delta")}
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].signature
    assert final.content[1].text == "Hello from the fake"


async def test_scripted_429_with_retry_after(claude, anthropic_fake):
    await anthropic_fake.post(KEY_URL, json={"status": 429, "retry_after": 1, "times": 2})

    for _ in range(2):
        with pytest.raises(anthropic.RateLimitError) as caught:
            await claude.messages.create(model="m", max_tokens=64, messages=MESSAGES)
        assert caught.value.response.headers["retry-after"] == "1"
        assert caught.value.body["type"] == "error"
        assert caught.value.body["error"]["type"] == "rate_limit_error"

    message = await claude.messages.create(model="m", max_tokens=64, messages=MESSAGES)
    assert message.content[0].text == "Hello from the fake"


@pytest.mark.parametrize(
    ("status", "error_type", "exc"),
    [
        (500, "api_error", anthropic.InternalServerError),
        (529, "overloaded_error", anthropic.InternalServerError),
        (403, "permission_error", anthropic.PermissionDeniedError),
        (400, "invalid_request_error", anthropic.BadRequestError),
        (401, "authentication_error", anthropic.AuthenticationError),
    ],
)
async def test_scripted_statuses_use_real_error_types(claude, anthropic_fake, status, error_type, exc):
    await anthropic_fake.post(KEY_URL, json={"status": status})
    with pytest.raises(exc) as caught:
        await claude.messages.create(model="m", max_tokens=64, messages=MESSAGES)
    assert caught.value.status_code == status
    assert caught.value.body["error"]["type"] == error_type


async def test_mid_stream_break(claude, anthropic_fake):
    await anthropic_fake.post(KEY_URL, json={"break_after_chunks": 4})
    seen = []
    with pytest.raises((*TRANSPORT_ERRORS, anthropic.APIError)):
        async with claude.messages.stream(model="m", max_tokens=64, messages=MESSAGES) as stream:
            async for event in stream:
                seen.append(event.type)

    assert "message_start" in seen
    assert "message_stop" not in seen


async def test_mid_stream_error_event(claude, anthropic_fake):
    await anthropic_fake.post(KEY_URL, json={"error_after_chunks": 3})
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with claude.messages.stream(model="m", max_tokens=64, messages=MESSAGES) as stream:
            async for _ in stream:
                pass
    assert caught.value.body["error"]["type"] == "overloaded_error"


async def test_auth(anthropic_fake):
    body = {"model": "m", "max_tokens": 64, "messages": MESSAGES}
    resp = await anthropic_fake.post("/v1/messages", json=body)
    assert resp.status == 401
    payload = await resp.json()
    assert payload["type"] == "error"
    assert payload["error"]["type"] == "authentication_error"

    base_url = str(anthropic_fake.make_url("")).rstrip("/")
    async with anthropic.AsyncAnthropic(base_url=base_url, auth_token="oauth-token", max_retries=0) as bearer:
        message = await bearer.messages.create(model="m", max_tokens=64, messages=MESSAGES)
    assert message.content[0].text == "Hello from the fake"
    logged = (await (await anthropic_fake.get("/_fake/requests")).json())[-1]
    assert logged["headers"]["authorization"] == "Bearer oauth-token"
    assert logged["headers"]["anthropic-version"]  # logged, whatever the SDK version sends


@pytest.mark.parametrize("missing", ["model", "messages", "max_tokens"])
async def test_validation_names_missing_field(anthropic_fake, missing):
    body = {"model": "m", "max_tokens": 64, "messages": MESSAGES}
    del body[missing]
    resp = await anthropic_fake.post("/v1/messages", json=body, headers=HEADERS)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(missing)


async def test_missing_version_header_is_tolerated(anthropic_fake):
    body = {"model": "m", "max_tokens": 64, "messages": MESSAGES}
    resp = await anthropic_fake.post("/v1/messages", json=body, headers={"x-api-key": "k"})
    assert resp.status == 200
    assert (await resp.json())["content"][0]["text"] == "Hello from the fake"


async def test_count_tokens(claude):
    counted = await claude.messages.count_tokens(model="m", messages=MESSAGES)
    assert counted.input_tokens == 3
