"""OpenAI → Claude request rules beyond the conformance cases."""

from __future__ import annotations

from typing import Any

from services.proxy_service.formats.openai_to_claude import convert_request

HI = {"role": "user", "content": "Hi"}


def convert(**body: Any) -> dict[str, Any]:
    return convert_request({"model": "gpt-4o", "messages": [HI], **body}, model="claude-sonnet-4")


def test_images_and_files_become_image_and_document_blocks() -> None:
    content = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
        {"type": "image_url", "image_url": {"url": "https://x/y.jpg"}},
        {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVB"}},
    ]
    assert convert(messages=[{"role": "user", "content": content}])["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}},
                {"type": "image", "source": {"type": "url", "url": "https://x/y.jpg"}},
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": "JVB"},
                },
            ],
        }
    ]


def test_reasoning_effort_turns_thinking_on_with_room_for_the_answer() -> None:
    out = convert(reasoning_effort="medium", temperature=0.2)
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 8192}
    assert out["max_tokens"] == 4096 + 8192
    assert "temperature" not in out  # Anthropic refuses sampling settings while thinking


def test_a_small_max_tokens_shrinks_the_budget_or_drops_thinking() -> None:
    assert convert(reasoning_effort="high", max_tokens=5000)["thinking"] == {
        "type": "enabled",
        "budget_tokens": 4999,
    }
    assert "thinking" not in convert(reasoning_effort="high", max_tokens=1000)


def test_a_forced_tool_turns_thinking_off() -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    out = convert(
        reasoning_effort="low", tools=tools, tool_choice={"type": "function", "function": {"name": "f"}}
    )
    assert out["tool_choice"] == {"type": "tool", "name": "f"} and "thinking" not in out


def test_history_with_tools_but_no_tool_list_declares_them_and_forbids_calls() -> None:
    messages = [
        HI,
        {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "get", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        {"role": "user", "content": "title please"},
    ]
    out = convert(messages=messages)
    assert out["tools"] == [{"name": "get", "input_schema": {"type": "object", "properties": {}}}]
    assert out["tool_choice"] == {"type": "none"}
    assert out["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "c1", "content": "ok"},
            {"type": "text", "text": "title please"},
        ],
    }


def test_sampling_is_clamped_and_personal_user_ids_are_not_sent() -> None:
    out = convert(temperature=1.7, top_p=0.5, user="me@example.com", stop=["  ", "END"])
    assert (out["temperature"], out["top_p"], out["stop_sequences"]) == (1, 0.5, ["END"])
    assert "metadata" not in out
    assert convert(user="u-1")["metadata"] == {"user_id": "u-1"}


def test_a_final_assistant_prefill_loses_trailing_whitespace() -> None:
    out = convert(messages=[HI, {"role": "assistant", "content": "Sure:  \n"}])
    assert out["messages"][-1] == {"role": "assistant", "content": [{"type": "text", "text": "Sure:"}]}


def test_consecutive_user_messages_merge_into_one_turn() -> None:
    out = convert(messages=[HI, {"role": "user", "content": [{"type": "text", "text": "again"}]}])
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "again"}]}
    ]


def test_signed_thinking_blocks_go_first_and_unsigned_ones_are_left_out() -> None:
    assistant = {
        "role": "assistant",
        "content": "answer",
        "thinking_blocks": [
            {"type": "thinking", "thinking": "t", "signature": "sig"},
            {"type": "thinking", "thinking": "u"},
        ],
    }
    out = convert(messages=[HI, assistant, {"role": "user", "content": "more"}])
    assert out["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "t", "signature": "sig"},
        {"type": "text", "text": "answer"},
    ]


def test_only_parallel_tool_calls_false_gives_auto_without_parallel_use() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    assert convert(tools=tools, parallel_tool_calls=False)["tool_choice"] == {
        "type": "auto",
        "disable_parallel_tool_use": True,
    }
    assert convert(tools=tools, tool_choice="none", parallel_tool_calls=False)["tool_choice"] == {
        "type": "none"
    }
