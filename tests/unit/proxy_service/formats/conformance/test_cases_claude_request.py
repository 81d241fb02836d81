"""conversion.md §7 cases 1–20: a Claude request converted for an OpenAI upstream (exact output)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from services.proxy_service.formats import CLAUDE, ClaudeClientToOpenAI, bridge_for
from services.proxy_service.formats.claude_to_openai import convert_request
from services.proxy_service.formats.providers import provider_for
from services.proxy_service.formats.tool_names import ToolNameMap

SCHEMA = {"type": "object", "properties": {"x": {"type": "string"}}}
EMPTY_SCHEMA = {"type": "object", "properties": {}}
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}
DATA_URL = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}
CALL_1 = {"id": "toolu_1", "type": "function", "function": {"name": "get", "arguments": '{"q":"a"}'}}
CALL_2 = {"id": "toolu_2", "type": "function", "function": {"name": "get", "arguments": '{"q":"b"}'}}
USE_1 = {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {"q": "a"}}
USE_2 = {"type": "tool_use", "id": "toolu_2", "name": "get", "input": {"q": "b"}}
HI = {"role": "user", "content": "Hi"}


def claude(messages: list[Any], **fields: Any) -> dict[str, Any]:
    return {"model": "claude-sonnet-4", "max_tokens": 100, "messages": messages, **fields}


def openai(messages: list[Any], *, model: str = "gpt-4o", **fields: Any) -> dict[str, Any]:
    body = {"model": model, "messages": messages, "stream": False, **fields}
    if "max_completion_tokens" not in body:
        body.setdefault("max_tokens", 100)
    return body


def tool_turn(*results: dict[str, Any]) -> list[dict[str, Any]]:
    """A conversation ending with the user's answer to two tool calls."""
    return [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [USE_1, USE_2]},
        {"role": "user", "content": list(results)},
    ]


def result(content: Any = None, **fields: Any) -> dict[str, Any]:
    block = {"type": "tool_result", "tool_use_id": "toolu_1", **fields}
    if content is not None:
        block["content"] = content
    return block


def tool_answer(*messages: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": None, "tool_calls": [CALL_1, CALL_2]},
        *messages,
    ]


@dataclass
class Case:
    id: str
    body: dict[str, Any]
    expected: dict[str, Any]
    model: str = "gpt-4o"
    provider: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case("1", claude([HI], system="Be brief"), openai([{"role": "system", "content": "Be brief"}, HI])),
    Case(
        "2-generic",
        claude(
            [HI],
            system=[
                {"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "B"},
            ],
        ),
        openai([{"role": "system", "content": "A\nB"}, HI]),
    ),
    Case(
        "2-claude-target",
        claude(
            [HI],
            system=[
                {"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "B"},
            ],
        ),
        openai(
            [
                {
                    "role": "system",
                    "content": [
                        {"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}},
                        {"type": "text", "text": "B"},
                    ],
                },
                HI,
            ],
            model="anthropic/claude-sonnet-4",
        ),
        model="anthropic/claude-sonnet-4",
        provider="openrouter",
    ),
    Case(
        "3",
        claude([{"role": "user", "content": [{"type": "text", "text": "look"}, IMAGE]}]),
        openai([{"role": "user", "content": [{"type": "text", "text": "look"}, DATA_URL]}]),
    ),
    Case(
        "4",
        claude(
            [
                {
                    "role": "user",
                    "content": [{"type": "image", "source": {"type": "url", "url": "https://x/y.jpg"}}],
                }
            ]
        ),
        openai(
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.jpg"}}]}]
        ),
    ),
    Case(
        "5",
        claude([HI, {"role": "assistant", "content": [{"type": "text", "text": "Let me check"}, USE_1]}]),
        openai([HI, {"role": "assistant", "content": "Let me check", "tool_calls": [CALL_1]}]),
    ),
    Case(
        "6",
        claude(tool_turn(result("42"), {"type": "text", "text": "thanks"})),
        openai(
            tool_answer(
                {"role": "tool", "tool_call_id": "toolu_1", "content": "42"},
                {"role": "user", "content": "thanks"},
            )
        ),
    ),
    Case(
        "7",
        claude(tool_turn(result([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]))),
        openai(tool_answer({"role": "tool", "tool_call_id": "toolu_1", "content": "a\nb"})),
    ),
    Case(
        "8",
        claude(tool_turn(result("boom", is_error=True))),
        openai(tool_answer({"role": "tool", "tool_call_id": "toolu_1", "content": "Error: boom"})),
    ),
    Case(
        "9",
        claude(tool_turn(result())),
        openai(tool_answer({"role": "tool", "tool_call_id": "toolu_1", "content": ""})),
    ),
    Case(
        "10",
        claude(tool_turn(IMAGE, result("r1"), {**result("r2"), "tool_use_id": "toolu_2"})),
        openai(
            tool_answer(
                {"role": "tool", "tool_call_id": "toolu_1", "content": "r1"},
                {"role": "tool", "tool_call_id": "toolu_2", "content": "r2"},
                {"role": "user", "content": [DATA_URL]},
            )
        ),
    ),
    Case(
        "11-deepseek",
        claude(
            [
                HI,
                {
                    "role": "assistant",
                    "content": [{"type": "thinking", "thinking": "ponder", "signature": "sig"}, USE_1],
                },
            ]
        ),
        openai(
            [
                HI,
                {"role": "assistant", "content": None, "tool_calls": [CALL_1], "reasoning_content": "ponder"},
            ],
            model="deepseek-chat",
        ),
        model="deepseek-chat",
        provider="deepseek",
    ),
    Case(
        "11-openai",
        claude(
            [
                HI,
                {
                    "role": "assistant",
                    "content": [{"type": "thinking", "thinking": "ponder", "signature": "sig"}, USE_1],
                },
            ]
        ),
        openai([HI, {"role": "assistant", "content": None, "tool_calls": [CALL_1]}]),
    ),
    Case(
        "12",
        claude([HI], tools=[{"name": "f", "description": "d", "input_schema": SCHEMA}]),
        openai(
            [HI],
            tools=[{"type": "function", "function": {"name": "f", "description": "d", "parameters": SCHEMA}}],
        ),
    ),
    Case(
        "13",
        claude([HI], tools=[{"name": "f"}]),
        openai([HI], tools=[{"type": "function", "function": {"name": "f", "parameters": EMPTY_SCHEMA}}]),
    ),
    *[
        Case(
            f"15-{label}",
            claude([HI], tools=[{"name": "f", "input_schema": SCHEMA}], tool_choice=choice),
            openai(
                [HI],
                tools=[{"type": "function", "function": {"name": "f", "parameters": SCHEMA}}],
                **expected,
            ),
        )
        for label, choice, expected in [
            ("auto", {"type": "auto"}, {"tool_choice": "auto"}),
            ("any", {"type": "any"}, {"tool_choice": "required"}),
            (
                "tool",
                {"type": "tool", "name": "f"},
                {"tool_choice": {"type": "function", "function": {"name": "f"}}},
            ),
            ("none", {"type": "none"}, {"tool_choice": "none"}),
            (
                "no-parallel",
                {"type": "auto", "disable_parallel_tool_use": True},
                {"tool_choice": "auto", "parallel_tool_calls": False},
            ),
        ]
    ],
    Case("16", claude([HI], tools=[], tool_choice={"type": "auto"}), openai([HI])),
    Case(
        "17",
        claude([HI], stop_sequences=["END"], top_p=0.9, metadata={"user_id": "u1"}),
        openai([HI], stop=["END"], top_p=0.9, user="u1"),
    ),
    Case(
        "18-gpt-5",
        claude([HI], max_tokens=1000, temperature=0.5),
        openai([HI], model="gpt-5", max_completion_tokens=1000),
        model="gpt-5",
    ),
    Case("18-gpt-4o", claude([HI], max_tokens=1000), openai([HI], max_tokens=1000)),
    Case(
        "19-enabled",
        claude([HI], thinking={"type": "enabled", "budget_tokens": 8000}),
        openai([HI], model="o3", max_completion_tokens=100, reasoning_effort="medium"),
        model="o3",
    ),
    Case(
        "19-disabled",
        claude([HI], thinking={"type": "disabled"}),
        openai([HI], model="o3", max_completion_tokens=100),
        model="o3",
    ),
    Case(
        "19-deepseek-disabled",
        claude([HI], thinking={"type": "disabled"}),
        openai([HI], model="deepseek-chat", thinking={"type": "disabled"}),
        model="deepseek-chat",
        provider="deepseek",
    ),
    Case(
        "19-deepseek-enabled",
        claude([HI], thinking={"type": "enabled", "budget_tokens": 31999}),
        openai([HI], model="deepseek-chat", thinking={"type": "enabled"}, reasoning_effort="high"),
        model="deepseek-chat",
        provider="deepseek",
    ),
    Case(
        "19-openrouter-enabled",
        claude([HI], thinking={"type": "enabled", "budget_tokens": 8000}),
        openai([HI], model="qwen/qwen3", reasoning={"max_tokens": 8000}),
        model="qwen/qwen3",
        provider="openrouter",
    ),
    Case(
        "19-plain-model",
        claude([HI], thinking={"type": "enabled", "budget_tokens": 8000}),
        openai([HI]),
    ),
    Case(
        "20-stream",
        claude([HI], stream=True),
        openai([HI], stream=True, stream_options={"include_usage": True}),
    ),
    Case("20-no-stream", claude([HI], stream=False), openai([HI])),
]


@pytest.mark.parametrize("case", CASES, ids=[f"case-{c.id}" for c in CASES])
def test_claude_request_converts_exactly(case: Case) -> None:
    names = ToolNameMap()
    out = convert_request(case.body, model=case.model, provider=provider_for(case.provider), names=names)
    assert out == case.expected


def test_case_14_a_long_tool_name_is_shortened_upstream_and_restored_in_the_answer() -> None:
    long_name = "mcp__server__" + "x" * 57
    assert len(long_name) == 70
    bridge = bridge_for(CLAUDE, "openai", client_model="claude-sonnet-4", upstream_model="gpt-4o")
    assert isinstance(bridge, ClaudeClientToOpenAI)
    body = claude([HI], tools=[{"name": long_name, "input_schema": SCHEMA}])
    sent = orjson.loads(bridge.request_body(orjson.dumps(body), body))
    upstream_name = sent["tools"][0]["function"]["name"]
    assert len(upstream_name) <= 64 and upstream_name != long_name
    assert upstream_name.replace("_", "").replace("-", "").isalnum()

    answer = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": upstream_name, "arguments": "{}"},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ]
    }
    message = orjson.loads(bridge.response_body(orjson.dumps(answer), answer))
    assert [block["name"] for block in message["content"]] == [long_name]


def test_case_20_a_non_streaming_client_gets_one_json_message_not_sse() -> None:
    bridge = bridge_for(CLAUDE, "openai", client_model="claude-sonnet-4", upstream_model="gpt-4o")
    body = claude([HI], stream=False)
    bridge.request_body(orjson.dumps(body), body)
    answer = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]
    }
    message = orjson.loads(bridge.response_body(orjson.dumps(answer), answer))
    assert message["type"] == "message" and message["content"] == [{"type": "text", "text": "ok"}]
