"""The fake OpenAI upstream, driven by the official openai SDK and by raw HTTP."""

from __future__ import annotations

import json
import time

import openai
import pytest

from tests.fakes._content import split_text
from tests.unit.fakes.sse_helpers import TRANSPORT_ERRORS, parse_sse

MESSAGES = [{"role": "user", "content": "Say hello"}]  # 9 chars -> 3 prompt tokens
WEATHER = [{"role": "user", "content": "What's the weather in Paris?"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
AUTH = {"Authorization": "Bearer sk-test-1"}


async def test_non_streaming_text(oai):
    completion = await oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4o-mini"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello from the fake"
    assert choice.finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (3, 5)
    assert completion.usage.total_tokens == 8


async def test_streaming_text_with_usage(oai):
    stream = await oai.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]

    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    content = [c.choices[0].delta.content for c in chunks[1:] if c.choices and c.choices[0].delta.content]
    assert len(content) == 5
    assert "".join(content) == "Hello from the fake"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (3, 5)
    assert len({(c.id, c.created, c.model, c.object) for c in chunks}) == 1
    assert chunks[0].object == "chat.completion.chunk"


async def test_stream_wire_format_without_usage(openai_fake):
    body = {"model": "m", "messages": MESSAGES, "stream": True}
    resp = await openai_fake.post("/v1/chat/completions", json=body, headers=AUTH)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    frames = parse_sse(await resp.text())

    assert frames[-1] == (None, "[DONE]")
    chunks = [json.loads(data) for _, data in frames[:-1]]
    assert all(c["choices"] for c in chunks)  # no usage chunk unless asked for
    assert all("usage" not in c for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}


@pytest.mark.parametrize(("text", "n"), [("Hello from the fake", 3), ("Hi", 7), ("One two three four", 1)])
async def test_stream_has_exactly_stream_chunks_content_chunks(oai, openai_fake, text, n):
    await openai_fake.post("/_fake/config", json={"text": text, "stream_chunks": n})
    stream = await oai.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    content = [c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content]

    assert len(content) == n
    assert "".join(content) == "".join(split_text(text, n))
    if n <= len(text):
        assert "".join(content) == text


async def test_tool_call_non_streaming(oai):
    completion = await oai.chat.completions.create(model="m", messages=WEATHER, tools=TOOLS)
    choice = completion.choices[0]

    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


async def test_tool_call_streaming_fragments(oai):
    stream = await oai.chat.completions.create(model="m", messages=WEATHER, tools=TOOLS, stream=True)
    chunks = [c async for c in stream]

    first = chunks[0].choices[0].delta.tool_calls[0]
    assert first.id.startswith("call_")
    assert first.function.name == "get_weather"
    assert first.function.arguments == ""
    fragments = [
        c.choices[0].delta.tool_calls[0].function.arguments
        for c in chunks[1:]
        if c.choices[0].delta.tool_calls
    ]
    assert len(fragments) > 1
    assert all(
        c.choices[0].delta.tool_calls[0].id is None for c in chunks[1:] if c.choices[0].delta.tool_calls
    )
    assert json.loads("".join(fragments)) == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_tools_without_weather_answer_text(oai):
    messages = [*WEATHER, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "thanks"}]
    completion = await oai.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    assert completion.choices[0].message.content == "Hello from the fake"
    assert completion.choices[0].message.tool_calls is None


async def test_scripted_429_with_retry_after(oai, openai_fake):
    await openai_fake.post("/_fake/keys/sk-test-1", json={"status": 429, "retry_after": 1, "times": 1})

    with pytest.raises(openai.RateLimitError) as caught:
        await oai.chat.completions.create(model="m", messages=MESSAGES)
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.type == "requests"
    assert caught.value.body["param"] is None

    completion = await oai.chat.completions.create(model="m", messages=MESSAGES)  # times used up
    assert completion.choices[0].message.content == "Hello from the fake"


async def test_scripted_500_always(oai, openai_fake):
    await openai_fake.post("/_fake/keys/sk-test-1", json={"status": 500})
    for _ in range(2):
        with pytest.raises(openai.InternalServerError) as caught:
            await oai.chat.completions.create(model="m", messages=MESSAGES)
        assert caught.value.type == "server_error"


async def test_scripted_error_type_override(oai, openai_fake):
    script = {"status": 429, "error_type": "insufficient_quota", "error_code": "insufficient_quota"}
    await openai_fake.post("/_fake/keys/sk-test-1", json=script)
    with pytest.raises(openai.RateLimitError) as caught:
        await oai.chat.completions.create(model="m", messages=MESSAGES)
    assert caught.value.code == "insufficient_quota"


@pytest.mark.parametrize("chunk_delay_ms", [0, 5])  # one coalesced write vs. one write per event
async def test_mid_stream_break(oai, openai_fake, chunk_delay_ms):
    await openai_fake.post("/_fake/config", json={"chunk_delay_ms": chunk_delay_ms})
    await openai_fake.post("/_fake/keys/sk-test-1", json={"break_after_chunks": 3})
    stream = await oai.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    received = []
    with pytest.raises((*TRANSPORT_ERRORS, openai.APIError)):
        async for chunk in stream:
            received.append(chunk)

    assert len(received) == 3  # role chunk + two content chunks, then the connection dropped
    assert all(c.choices[0].finish_reason is None for c in received)


async def test_mid_stream_error_event(oai, openai_fake):
    await openai_fake.post("/_fake/keys/sk-test-1", json={"error_after_chunks": 2})
    stream = await oai.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIError):
        async for _ in stream:
            pass


async def test_missing_and_unknown_keys(openai_fake, oai):
    resp = await openai_fake.post("/v1/chat/completions", json={"model": "m", "messages": MESSAGES})
    assert resp.status == 401
    error = (await resp.json())["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_api_key"
    assert error["param"] is None

    resp = await openai_fake.post(
        "/v1/chat/completions",
        json={"model": "m", "messages": MESSAGES},
        headers={"Authorization": "Basic x"},
    )
    assert resp.status == 401

    await openai_fake.post("/_fake/config", json={"valid_keys": ["sk-other"]})
    with pytest.raises(openai.AuthenticationError) as caught:
        await oai.chat.completions.create(model="m", messages=MESSAGES)
    assert caught.value.code == "invalid_api_key"


@pytest.mark.parametrize("missing", ["model", "messages"])
async def test_validation_names_missing_field(openai_fake, missing):
    body = {"model": "m", "messages": MESSAGES}
    del body[missing]
    resp = await openai_fake.post("/v1/chat/completions", json=body, headers=AUTH)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["param"] == missing
    assert missing in error["message"]
    assert error["type"] == "invalid_request_error"


async def test_unprefixed_path_and_invalid_json(openai_fake):
    resp = await openai_fake.post(
        "/chat/completions", json={"model": "m", "messages": MESSAGES}, headers=AUTH
    )
    assert (await resp.json())["object"] == "chat.completion"
    resp = await openai_fake.post("/v1/chat/completions", data=b"{nope", headers=AUTH)
    assert resp.status == 400


async def test_azure_deployment_route(openai_fake):
    endpoint = str(openai_fake.make_url("")).rstrip("/")
    async with openai.AsyncAzureOpenAI(
        azure_endpoint=endpoint, api_key="azure-key", api_version="2024-10-21", max_retries=0
    ) as azure:
        completion = await azure.chat.completions.create(model="my-deployment", messages=MESSAGES)
        assert completion.choices[0].message.content == "Hello from the fake"
        stream = await azure.chat.completions.create(model="my-deployment", messages=MESSAGES, stream=True)
        chunks = [c async for c in stream]

    assert chunks[0].choices == []  # Azure's prompt-filter chunk comes first
    assert "".join(c.choices[0].delta.content or "" for c in chunks[1:]) == "Hello from the fake"
    logged = (await (await openai_fake.get("/_fake/requests")).json())[-1]
    assert logged["path"] == "/openai/deployments/my-deployment/chat/completions"
    assert logged["query"] == {"api-version": "2024-10-21"}
    assert logged["headers"]["api-key"] == "azure-key"

    resp = await openai_fake.post("/openai/deployments/d/chat/completions", json={"messages": MESSAGES})
    assert resp.status == 404  # api-version is mandatory on Azure


async def test_delays(oai, openai_fake):
    await openai_fake.post("/_fake/config", json={"delay_ms": 150, "chunk_delay_ms": 20, "stream_chunks": 5})
    started = time.perf_counter()
    stream = await oai.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    first_byte = time.perf_counter() - started
    async for _ in stream:
        pass
    total = time.perf_counter() - started

    assert first_byte >= 0.15
    assert total >= 0.15 + 6 * 0.02  # 8 events -> 7 gaps; leave slack for timer granularity


async def test_requests_are_logged(oai, openai_fake):
    await oai.chat.completions.create(model="gpt-x", messages=MESSAGES, temperature=0.5)
    (entry,) = await (await openai_fake.get("/_fake/requests")).json()
    assert entry["method"] == "POST"
    assert entry["path"] == "/v1/chat/completions"
    assert entry["headers"]["authorization"] == "Bearer sk-test-1"
    assert entry["body"]["model"] == "gpt-x"
    assert entry["body"]["temperature"] == 0.5
