from __future__ import annotations

from typing import Any

from services.proxy_service.formats.foundry import clean_for_foundry

SIGNED = {"type": "thinking", "thinking": "t", "signature": "sig"}
SCHEMA = {"type": "object", "properties": {}}


def body(**fields: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "Hi"}],
        **fields,
    }


def test_a_request_foundry_accepts_is_left_alone() -> None:
    assert clean_for_foundry(body(tools=[{"name": "f", "input_schema": SCHEMA}])) is None


def test_fields_foundry_refuses_are_dropped() -> None:
    cleaned = clean_for_foundry(body(context_management={"edits": []}, betas=["x"], anthropic_beta=["y"]))
    assert cleaned == body()


def test_tools_are_reduced_to_what_foundry_accepts() -> None:
    tools = [
        {"type": "bash_20250124", "name": "bash", "max_uses": 3},
        {"type": "custom", "name": "c", "input_schema": SCHEMA, "cache_control": {"type": "ephemeral"}},
        {"type": "function", "function": {"name": "o", "description": "d", "parameters": SCHEMA}},
        {"name": "p", "description": "", "input_schema": SCHEMA, "strict": True},
        {"type": "mystery_tool", "name": "m"},
        {"description": "nameless"},
    ]
    assert clean_for_foundry(body(tools=tools))["tools"] == [
        {"type": "bash_20250124", "name": "bash"},
        {"name": "c", "input_schema": SCHEMA},
        {"name": "o", "input_schema": SCHEMA, "description": "d"},
        {"name": "p", "input_schema": SCHEMA},
    ]


def test_thinking_is_dropped_when_the_last_assistant_turn_does_not_open_with_signed_thinking() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {
            "role": "assistant",
            "content": [{"type": "thinking", "thinking": "old"}, {"type": "text", "text": "b"}],
        },
        {"role": "user", "content": "c"},
    ]
    cleaned = clean_for_foundry(body(messages=messages, thinking={"type": "enabled", "budget_tokens": 2000}))
    assert "thinking" not in cleaned
    assert cleaned["messages"][1] == {"role": "assistant", "content": [{"type": "text", "text": "b"}]}


def test_with_thinking_kept_unsigned_history_becomes_text_and_signed_stays() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {
            "role": "assistant",
            "content": [{"type": "thinking", "thinking": "old"}, {"type": "text", "text": "b"}],
        },
        {"role": "user", "content": "c"},
        {
            "role": "assistant",
            "content": [SIGNED, {"type": "redacted_thinking"}, {"type": "text", "text": "d"}],
        },
        {"role": "user", "content": "e"},
    ]
    cleaned = clean_for_foundry(body(messages=messages, thinking={"type": "enabled", "budget_tokens": 2000}))
    assert cleaned["thinking"] == {"type": "enabled", "budget_tokens": 2000}
    assert cleaned["messages"][1]["content"][0] == {
        "type": "text",
        "text": "<previous_thinking>old</previous_thinking>",
    }
    assert cleaned["messages"][3]["content"] == [SIGNED, {"type": "text", "text": "d"}]


def test_messages_left_empty_are_removed_except_a_final_prefill() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "only"}]},
        {"role": "user", "content": "  "},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": []},
    ]
    assert clean_for_foundry(body(messages=messages))["messages"] == [
        {"role": "user", "content": "a"},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": []},
    ]
