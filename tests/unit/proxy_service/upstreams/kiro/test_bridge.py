from __future__ import annotations

from typing import Any

import anthropic
import orjson
import pytest
from openai.types.chat import ChatCompletion

from services.proxy_service.formats import CLAUDE, OPENAI, FailedAnswer, UnsupportedConversion
from services.proxy_service.formats.client_format import ClientFormat
from services.proxy_service.upstreams.kiro.bridge import KiroBridge
from tests.unit.proxy_service.upstreams.kiro._frames import (
    DONE,
    check_claude,
    claude_sdk_message,
    event,
    exception,
    openai_chunks,
    openai_sdk_completion,
    text,
    tool,
)

MODEL = "claude-sonnet-4-5"
ARN = "arn:aws:codewhisperer:us-east-1:123456789012:profile/ABC"
LONG_NAME = "mcp__filesystem__" + "read_a_file_from_the_workspace_" * 3


def bridge(client: ClientFormat = CLAUDE, model: str = MODEL) -> KiroBridge:
    return KiroBridge(client, model, profile_arn=ARN)


def claude_request(**fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 1024, "messages": [{"role": "user", "content": "Hello"}], **fields}


def kiro_body(b: KiroBridge, body: dict[str, Any]) -> dict[str, Any]:
    return orjson.loads(b.request_body(orjson.dumps(body), body))


# --- request -----------------------------------------------------------------------------------------


def test_a_claude_request_becomes_a_kiro_payload() -> None:
    payload = kiro_body(bridge(), claude_request(system="Be kind."))

    state = payload["conversationState"]
    assert state["currentMessage"]["userInputMessage"]["content"] == "Hello"
    assert state["currentMessage"]["userInputMessage"]["modelId"] == "CLAUDE_SONNET_4_5_20250929_V1_0"
    assert state["history"][0]["userInputMessage"]["content"] == "Be kind."
    assert payload["profileArn"] == ARN


def test_an_openai_request_is_converted_first() -> None:
    body = {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "Sys."},
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"c":"P"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        "tools": [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
    }

    state = kiro_body(bridge(OPENAI), body)["conversationState"]

    assert [next(iter(h.values()))["content"] for h in state["history"]] == [
        "Sys.",
        "I will follow these instructions.",
        "Weather?",
        "",
    ]
    assert state["history"][3]["assistantResponseMessage"]["toolUses"] == [
        {"toolUseId": "call_1", "name": "weather", "input": {"c": "P"}}
    ]
    context = state["currentMessage"]["userInputMessage"]["userInputMessageContext"]
    assert context["toolResults"] == [
        {"toolUseId": "call_1", "content": [{"text": "sunny"}], "status": "success"}
    ]
    assert [t["toolSpecification"]["name"] for t in context["tools"]] == ["weather"]


def test_an_openai_request_uses_the_client_model_for_kiro() -> None:
    body = {"model": "whatever-the-client-said", "messages": [{"role": "user", "content": "x"}]}

    payload = kiro_body(bridge(OPENAI, "claude-opus-4-6"), body)

    assert payload["conversationState"]["currentMessage"]["userInputMessage"]["modelId"] == "claude-opus-4.6"


def test_an_unknown_model_is_an_unsupported_conversion() -> None:
    with pytest.raises(UnsupportedConversion, match="gpt-4o"):
        kiro_body(bridge(), claude_request(model="gpt-4o"))


def test_usage_is_the_request_estimate_until_the_answer_arrives() -> None:
    b = bridge()
    assert b.usage == (0, None)

    kiro_body(b, claude_request(messages=[{"role": "user", "content": "word " * 200}]))

    estimate, output = b.usage
    assert estimate is not None and estimate > 100
    assert output is None
    assert b.rewrites is True
    assert b.stream_failed is False


# --- non-streaming answers ---------------------------------------------------------------------------


def answer(*frames: bytes) -> bytes:
    return b"".join(frames)


def test_a_claude_answer_is_a_whole_anthropic_message() -> None:
    b = bridge()
    kiro_body(b, claude_request(thinking={"type": "enabled", "budget_tokens": 2048}))

    body = b.response_body(
        answer(
            text("<thinking>hm</thinking>\n\nHi!"), event("contextUsageEvent", {"contextUsagePercentage": 1})
        ),
        None,
    )

    message = anthropic.types.Message.model_validate(orjson.loads(body))
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[1].text == "Hi!"
    assert (message.model, message.stop_reason) == (MODEL, "end_turn")
    assert message.usage.input_tokens == 2000
    assert b.usage == (2000, message.usage.output_tokens)


def test_thinking_tags_stay_text_when_the_request_did_not_ask_for_thinking() -> None:
    b = bridge()
    kiro_body(b, claude_request())

    body = orjson.loads(b.response_body(answer(text("<thinking>x</thinking>y")), None))

    assert body["content"] == [{"type": "text", "text": "<thinking>x</thinking>y"}]


def test_an_openai_answer_is_a_chat_completion_with_client_tool_names() -> None:
    b = bridge(OPENAI)
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "read it"}],
        "tools": [{"type": "function", "function": {"name": LONG_NAME, "parameters": {"type": "object"}}}],
    }
    sent = kiro_body(b, body)["conversationState"]["currentMessage"]["userInputMessage"]
    kiro_name = sent["userInputMessageContext"]["tools"][0]["toolSpecification"]["name"]
    assert kiro_name != LONG_NAME and len(kiro_name) <= 64

    raw = answer(
        text("Reading."),
        tool("toolu_1", kiro_name, '{"path":'),
        tool("toolu_1", kiro_name, '"/a"}', stop=True),
        event("metadataEvent", {"inputTokens": 30, "outputTokens": 12}),
    )
    completion = ChatCompletion.model_validate(orjson.loads(b.response_body(raw, None)))

    choice = completion.choices[0]
    assert choice.message.content == "Reading."
    assert [
        (c.id, c.function.name, orjson.loads(c.function.arguments)) for c in choice.message.tool_calls
    ] == [("toolu_1", LONG_NAME, {"path": "/a"})]
    assert choice.finish_reason == "tool_calls"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (30, 12)
    assert completion.model == MODEL


def test_a_too_long_exception_before_content_fails_the_answer_with_400() -> None:
    b = bridge()
    kiro_body(b, claude_request())

    with pytest.raises(FailedAnswer) as failed:
        b.response_body(answer(exception("ContentLengthExceededException", "Input is too long.")), None)

    assert failed.value.status == 400
    error = orjson.loads(b.error_body(failed.value.raw, failed.value.status))
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["message"].count("prompt is too long") == 1
    assert "Input is too long." in error["error"]["message"]
    assert b.stream_failed


def test_a_too_long_exception_for_an_openai_client_is_context_length_exceeded() -> None:
    b = bridge(OPENAI)
    kiro_body(b, {"model": MODEL, "messages": [{"role": "user", "content": "x"}]})

    with pytest.raises(FailedAnswer) as failed:
        b.response_body(answer(exception("ContentLengthExceededException", "Input is too long.")), None)

    error = orjson.loads(b.error_body(failed.value.raw, failed.value.status))["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "context_length_exceeded")


def test_a_too_long_exception_after_content_is_a_truncated_answer_not_a_failure() -> None:
    b = bridge()
    kiro_body(b, claude_request())

    body = orjson.loads(
        b.response_body(answer(text("cut"), exception("ContentLengthExceededException")), None)
    )

    assert body["stop_reason"] == "max_tokens"
    assert body["content"] == [{"type": "text", "text": "cut"}]


@pytest.mark.parametrize(
    "raw",
    [
        answer(exception("ThrottlingException", "slow")),
        answer(text("a"), tool("t", "x", '{"a":')),  # ended inside a tool call
        text("whole")[:-2],  # ended inside a frame
        b"\x00\x00\x00\x10garbage-bytes!!",
    ],
)
def test_other_failures_fail_the_answer_with_502(raw: bytes) -> None:
    b = bridge()
    kiro_body(b, claude_request())

    with pytest.raises(FailedAnswer) as failed:
        b.response_body(raw, None)

    assert failed.value.status == 502
    assert orjson.loads(failed.value.raw)["message"]


# --- streaming answers -------------------------------------------------------------------------------


def stream(b: KiroBridge, raw: bytes, size: int) -> bytes:
    out = b.stream_start()
    for i in range(0, len(raw), size):
        out += b.stream_chunk(raw[i : i + size])
    return out + b.stream_end()


@pytest.mark.parametrize("size", [1, 7, 10_000])
def test_a_claude_stream_relays_text_and_tools_in_any_read_size(size: int) -> None:
    b = bridge()
    sent = kiro_body(b, claude_request(tools=[{"name": LONG_NAME, "input_schema": {}}]))
    kiro_name = sent["conversationState"]["currentMessage"]["userInputMessage"]["userInputMessageContext"][
        "tools"
    ][0]["toolSpecification"]["name"]
    raw = answer(text("On it."), tool("toolu_9", kiro_name, '{"q":1}', stop=True))

    out = stream(b, raw, size)

    check_claude(out)
    message = claude_sdk_message(out)
    assert message.content[0].text == "On it."
    assert (message.content[1].name, message.content[1].input) == (LONG_NAME, {"q": 1})
    assert message.stop_reason == "tool_use"
    assert not b.stream_failed


def test_the_stream_start_is_the_message_start_with_the_estimate() -> None:
    b = bridge()
    kiro_body(b, claude_request())
    estimate = b.usage[0]

    events = [e for e in check_claude(b.stream_start() + b.stream_end())]

    assert events[0]["message"]["usage"]["input_tokens"] == estimate
    assert events[0]["message"]["model"] == MODEL


def test_an_openai_stream_with_usage() -> None:
    b = bridge(OPENAI)
    kiro_body(
        b,
        {
            "model": MODEL,
            "messages": [{"role": "user", "content": "x"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )

    out = stream(b, answer(text("Hello"), event("metadataEvent", {"inputTokens": 3, "outputTokens": 2})), 5)

    chunks = openai_chunks(out)
    assert chunks[-1] == DONE
    assert (chunks[-2].usage.prompt_tokens, chunks[-2].usage.completion_tokens) == (3, 2)
    assert openai_sdk_completion(out).choices[0].message.content == "Hello"
    assert b.usage == (3, 2)


def test_an_openai_stream_without_include_usage_has_no_usage_chunk() -> None:
    b = bridge(OPENAI)
    kiro_body(b, {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "stream": True})

    chunks = openai_chunks(stream(b, answer(text("Hi")), 100))

    assert all(c == DONE or c.usage is None for c in chunks)


def test_a_failed_stream_is_reported() -> None:
    b = bridge()
    kiro_body(b, claude_request())

    out = stream(b, answer(text("a"), exception("InternalServerException", "oops")), 1000)

    assert check_claude(out)[-1]["type"] == "error"
    assert b.stream_failed
    assert b.stream_error == "InternalServerException: oops"  # the usage event's excerpt, for error rules


def test_a_healthy_stream_has_no_stream_error() -> None:
    b = bridge()
    kiro_body(b, claude_request())
    stream(b, answer(text("a")), 1000)
    assert not b.stream_failed and b.stream_error is None


# --- upstream error answers --------------------------------------------------------------------------

TOO_LONG_BODIES = [
    b'{"message":"Input is too long.","reason":"CONTENT_LENGTH_EXCEEDS_THRESHOLD"}',
    b'{"message":"Input is too long."}',
    b'{"message":"Context is full","reason":"CONTENT_LENGTH_EXCEEDS_THRESHOLD"}',
    b'{"error":{"message":"Input is too long.","reason":"CONTENT_LENGTH_EXCEEDS_THRESHOLD"}}',
]


@pytest.mark.parametrize("raw", TOO_LONG_BODIES)
def test_a_prompt_too_long_is_named_so_for_claude_clients(raw: bytes) -> None:
    body = orjson.loads(bridge().error_body(raw, 400))

    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "prompt is too long" in body["error"]["message"]


@pytest.mark.parametrize("raw", TOO_LONG_BODIES)
def test_a_prompt_too_long_is_context_length_exceeded_for_openai_clients(raw: bytes) -> None:
    error = orjson.loads(bridge(OPENAI).error_body(raw, 400))["error"]

    assert (error["type"], error["code"]) == ("invalid_request_error", "context_length_exceeded")


def test_an_improperly_formed_request_is_not_called_too_long() -> None:
    raw = b'{"message":"Improperly formed request.","reason":"REQUEST_BODY_INVALID"}'

    body = orjson.loads(bridge().error_body(raw, 400))

    assert body["error"] == {
        "type": "invalid_request_error",
        "message": "Improperly formed request. (REQUEST_BODY_INVALID)",
    }


@pytest.mark.parametrize(
    ("status", "raw", "claude_type", "openai_type", "message"),
    [
        (
            403,
            b'{"message":"The bearer token included in the request is invalid.","reason":null}',
            "permission_error",
            "permission_error",
            "The bearer token included in the request is invalid.",
        ),
        (
            429,
            b'{"message":"Too many requests, please wait before trying again.",'
            b'"reason":"SERVICE_REQUEST_RATE_EXCEEDED"}',
            "rate_limit_error",
            "rate_limit_error",
            "Too many requests, please wait before trying again. (SERVICE_REQUEST_RATE_EXCEEDED)",
        ),
        (
            402,
            b'{"message":"You have reached the limit.","reason":"MONTHLY_REQUEST_COUNT"}',
            "invalid_request_error",
            "invalid_request_error",
            "You have reached the limit. (MONTHLY_REQUEST_COUNT)",
        ),
        (
            500,
            b"Service temporarily unavailable",
            "api_error",
            "server_error",
            "Service temporarily unavailable",
        ),
        (503, b"", "overloaded_error", "server_error", "Kiro answered HTTP 503"),
    ],
)
def test_other_errors_keep_their_message(
    status: int, raw: bytes, claude_type: str, openai_type: str, message: str
) -> None:
    claude_body = orjson.loads(bridge().error_body(raw, status))
    openai_body = orjson.loads(bridge(OPENAI).error_body(raw, status))

    assert claude_body == {"type": "error", "error": {"type": claude_type, "message": message}}
    assert openai_body["error"]["message"] == message
    assert openai_body["error"]["type"] == openai_type
    assert openai_body["error"]["code"] is None
