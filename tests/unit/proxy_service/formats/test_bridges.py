"""The bridges chosen by `bridge_for`: what each keeps from the request for the answer."""

from __future__ import annotations

from typing import Any

import orjson

from services.proxy_service.formats import (
    CLAUDE,
    OPENAI,
    ClaudeClientToOpenAI,
    OpenAIClientToClaude,
    Passthrough,
    bridge_for,
)
from tests.unit.proxy_service.formats._sse import (
    DONE,
    claude_sse,
    delta,
    openai_sse,
    parse_claude,
    parse_openai,
)

HI = [{"role": "user", "content": "Hi"}]


def send(bridge: Any, body: dict[str, Any]) -> dict[str, Any]:
    return orjson.loads(bridge.request_body(orjson.dumps(body), body))


def test_each_client_and_account_pair_gets_its_bridge() -> None:
    assert isinstance(
        bridge_for(CLAUDE, "openai", client_model="m", upstream_model=None), ClaudeClientToOpenAI
    )
    assert isinstance(
        bridge_for(OPENAI, "claude", client_model="m", upstream_model=None), OpenAIClientToClaude
    )
    assert isinstance(bridge_for(CLAUDE, "claude", client_model="m", upstream_model=None), Passthrough)


def test_foundry_accounts_get_their_clean_up_on_pass_through() -> None:
    body = {"model": "m", "max_tokens": 5, "messages": HI, "context_management": {}}
    raw = orjson.dumps(body)
    azure = bridge_for(CLAUDE, "claude", client_model="m", upstream_model=None, provider="azure")
    assert orjson.loads(azure.request_body(raw, body)) == {"model": "m", "max_tokens": 5, "messages": HI}
    plain = bridge_for(CLAUDE, "claude", client_model="m", upstream_model=None, provider="anthropic")
    assert plain.request_body(raw, body) is raw
    clean = {"model": "m", "max_tokens": 5, "messages": HI}
    clean_raw = orjson.dumps(clean)
    assert azure.request_body(clean_raw, clean) is clean_raw


def test_a_claude_client_on_an_openai_account_keeps_its_model_everywhere() -> None:
    bridge = bridge_for(CLAUDE, "openai", client_model="claude-sonnet-4", upstream_model="gpt-4o")
    assert (
        send(bridge, {"model": "claude-sonnet-4", "max_tokens": 5, "messages": HI, "stream": True})["model"]
        == "gpt-4o"
    )
    out = bridge.stream_start()
    for chunk in openai_sse(
        delta(content="a"), delta(finish_reason="stop"), {"choices": [], "usage": {}}, DONE
    ):
        out += bridge.stream_chunk(chunk)
    out += bridge.stream_end()
    events = parse_claude(out)
    assert events[0]["message"]["model"] == "claude-sonnet-4"
    assert [e["type"] for e in events][-2:] == ["message_delta", "message_stop"]
    assert not bridge.stream_failed


def test_the_stream_waits_for_usage_because_the_bridge_asked_for_it() -> None:
    bridge = bridge_for(CLAUDE, "openai", client_model="c", upstream_model="gpt-4o")
    sent = send(bridge, {"model": "c", "max_tokens": 5, "messages": HI, "stream": True})
    assert sent["stream_options"] == {"include_usage": True}
    bridge.stream_start()
    assert b"message_delta" not in bridge.stream_chunk(
        b"".join(openai_sse(delta(content="a", finish_reason="stop")))
    )
    usage = b"".join(openai_sse({"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 1}}))
    assert parse_claude(bridge.stream_chunk(usage))[0]["usage"]["input_tokens"] == 4


def test_a_broken_openai_stream_marks_the_claude_bridge_failed() -> None:
    bridge = bridge_for(CLAUDE, "openai", client_model="c", upstream_model=None)
    send(bridge, {"model": "c", "max_tokens": 5, "messages": HI, "stream": True})
    bridge.stream_start()
    bridge.stream_chunk(b"".join(openai_sse(delta(content="a"))))
    assert parse_claude(bridge.stream_end())[-1]["type"] == "error"
    assert bridge.stream_failed


def test_reasoning_stays_hidden_from_a_claude_client_that_disabled_thinking() -> None:
    bridge = bridge_for(
        CLAUDE, "openai", client_model="c", upstream_model="deepseek-chat", provider="deepseek"
    )
    sent = send(bridge, {"model": "c", "max_tokens": 5, "messages": HI, "thinking": {"type": "disabled"}})
    assert sent["thinking"] == {"type": "disabled"}
    answer = {
        "choices": [{"message": {"content": "a", "reasoning_content": "r"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    }
    message = orjson.loads(bridge.response_body(orjson.dumps(answer), answer))
    assert message["content"] == [{"type": "text", "text": "a"}]
    assert message["model"] == "c" and message["id"].startswith("msg_")


def test_an_openai_client_on_a_claude_account_gets_usage_only_when_it_asked() -> None:
    events = claude_sse(
        {"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 2}}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}},
        {"type": "message_stop"},
    )
    for include_usage, expected in ((True, 1), (False, 0)):
        bridge = bridge_for(OPENAI, "claude", client_model="gpt-4o", upstream_model="claude-sonnet-4")
        body: dict[str, Any] = {"model": "gpt-4o", "messages": HI, "stream": True}
        if include_usage:
            body["stream_options"] = {"include_usage": True}
        sent = send(bridge, body)
        assert sent["model"] == "claude-sonnet-4" and "stream_options" not in sent
        out = bridge.stream_start() + b"".join(bridge.stream_chunk(e) for e in events) + bridge.stream_end()
        chunks = parse_openai(out)
        assert sum(1 for c in chunks if c != DONE and "usage" in c) == expected
        assert {c["model"] for c in chunks if c != DONE} == {"gpt-4o"}


def test_an_openai_client_gets_a_chat_completion_from_a_claude_answer() -> None:
    bridge = bridge_for(OPENAI, "claude", client_model="gpt-4o", upstream_model="claude-sonnet-4")
    send(bridge, {"model": "gpt-4o", "messages": HI})
    answer = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4",
        "content": [{"type": "text", "text": "hello"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    completion = orjson.loads(bridge.response_body(orjson.dumps(answer), answer))
    assert completion["object"] == "chat.completion" and completion["model"] == "gpt-4o"
    assert completion["choices"][0]["message"] == {"role": "assistant", "content": "hello"}


def test_answers_that_are_not_what_the_bridge_expects_are_returned_as_they_are() -> None:
    claude_client = bridge_for(CLAUDE, "openai", client_model="c", upstream_model=None)
    openai_client = bridge_for(OPENAI, "claude", client_model="c", upstream_model=None)
    assert claude_client.response_body(b"oops", None) == b"oops"
    assert openai_client.response_body(b'{"x":1}', {"x": 1}) == b'{"x":1}'
