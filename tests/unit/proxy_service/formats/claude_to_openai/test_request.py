"""Claude → OpenAI request rules beyond the conformance cases."""

from __future__ import annotations

from typing import Any

from services.proxy_service.formats.claude_to_openai import convert_request
from services.proxy_service.formats.providers import provider_for
from services.proxy_service.formats.tool_names import ToolNameMap

PDF = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}}


def convert(body: dict[str, Any], *, model: str = "gpt-4o", provider: str | None = None) -> dict[str, Any]:
    full = {
        "model": "claude-sonnet-4",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "Hi"}],
        **body,
    }
    return convert_request(full, model=model, provider=provider_for(provider), names=ToolNameMap())


def test_documents_become_file_parts_where_the_provider_takes_them_else_a_placeholder() -> None:
    messages = [{"role": "user", "content": [PDF]}]
    file_part = {
        "type": "file",
        "file": {"filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBE"},
    }
    assert convert({"messages": messages}, provider="openai")["messages"] == [
        {"role": "user", "content": [file_part]}
    ]
    assert convert({"messages": messages})["messages"] == [{"role": "user", "content": "[document omitted]"}]


def test_anthropic_server_tools_are_left_out_and_with_them_tool_choice() -> None:
    out = convert(
        {"tools": [{"type": "web_search_20250305", "name": "web_search"}], "tool_choice": {"type": "any"}}
    )
    assert "tools" not in out and "tool_choice" not in out


def test_history_uses_the_same_stand_in_names_as_the_tool_list() -> None:
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "mcp.x", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]},
    ]
    out = convert({"messages": messages, "tools": [{"name": "mcp.x", "input_schema": {"type": "object"}}]})
    assert out["tools"][0]["function"]["name"] == "mcp_x"
    assert out["messages"][1]["tool_calls"][0]["function"]["name"] == "mcp_x"


def test_assistant_turns_without_text_or_tool_calls_are_skipped() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "s"}]},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "b"},
    ]
    assert convert({"messages": messages})["messages"] == [
        {"role": "user", "content": "a"},
        {"role": "user", "content": "b"},
    ]


def test_assistant_text_after_a_tool_use_is_merged_not_refused() -> None:
    use = {"type": "tool_use", "id": "t1", "name": "get", "input": {}}
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [{"type": "text", "text": "x"}, use, {"type": "text", "text": "y"}]},
    ]
    assert convert({"messages": messages})["messages"][1]["content"] == "xy"


def test_deepseek_gets_empty_reasoning_back_on_tool_turns_without_thinking() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "get", "input": {}}]},
    ]
    out = convert({"messages": messages}, model="deepseek-reasoner", provider="deepseek")
    assert out["messages"][1]["reasoning_content"] == ""


def test_long_user_ids_are_hashed_and_extra_stop_sequences_dropped() -> None:
    out = convert({"metadata": {"user_id": "user_" + "a" * 100}, "stop_sequences": ["1", "2", "3", "4", "5"]})
    assert len(out["user"]) == 64 and out["user"] != "user_" + "a" * 100
    assert out["stop"] == ["1", "2", "3", "4"]


def test_top_k_only_goes_to_providers_that_accept_it() -> None:
    assert "top_k" not in convert({"top_k": 5})
    assert convert({"top_k": 5}, provider="vllm")["top_k"] == 5


def test_adaptive_thinking_uses_its_effort_on_reasoning_models() -> None:
    body = {"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}}
    assert convert(body, model="gpt-5")["reasoning_effort"] == "high"


def test_openrouter_disabled_thinking_is_switched_off() -> None:
    assert convert({"thinking": {"type": "disabled"}}, provider="openrouter")["reasoning"] == {
        "enabled": False
    }


def test_structured_output_becomes_a_json_schema_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    out = convert({"output_format": {"type": "json_schema", "schema": schema}})
    assert out["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "structured_output", "schema": schema, "strict": True},
    }


def test_tool_result_images_become_a_placeholder_text() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "A"}}
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "shot", "input": {}}]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "see"}, image],
                }
            ],
        },
    ]
    assert convert({"messages": messages})["messages"][2] == {
        "role": "tool",
        "tool_call_id": "t1",
        "content": "see\n[image omitted]",
    }
