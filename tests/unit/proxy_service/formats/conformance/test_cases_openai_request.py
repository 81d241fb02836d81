"""conversion.md §7 cases 21–26: an OpenAI request converted for a Claude upstream (exact output)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from services.proxy_service.formats.openai_to_claude import convert_request

TOOLS = [{"type": "function", "function": {"name": "get", "parameters": {"type": "object"}}}]
CLAUDE_TOOLS = [{"name": "get", "input_schema": {"type": "object"}}]
HI = {"role": "user", "content": "Hi"}


def openai(messages: list[Any], **fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "max_tokens": 100, "messages": messages, **fields}


def claude(messages: list[Any], **fields: Any) -> dict[str, Any]:
    return {"model": "claude-sonnet-4", "max_tokens": 100, "messages": messages, "stream": False, **fields}


def assistant_calls(*arguments: str) -> dict[str, Any]:
    calls = [
        {"id": f"call_{n}", "type": "function", "function": {"name": "get", "arguments": args}}
        for n, args in enumerate(arguments, 1)
    ]
    return {"role": "assistant", "content": None, "tool_calls": calls}


def tool_use(n: int, input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"call_{n}", "name": "get", "input": input}


@dataclass
class Case:
    id: str
    body: dict[str, Any]
    expected: dict[str, Any]


CASES = [
    Case(
        "21",
        openai([{"role": "system", "content": "S"}, {"role": "developer", "content": "D"}, HI]),
        claude([HI], system=[{"type": "text", "text": "S"}, {"type": "text", "text": "D"}]),
    ),
    Case(
        "22",
        openai(
            [
                HI,
                assistant_calls('{"q":"a"}', '{"q":"b"}'),
                {"role": "tool", "tool_call_id": "call_1", "content": "A"},
                {"role": "tool", "tool_call_id": "call_2", "content": "B"},
            ],
            tools=TOOLS,
        ),
        claude(
            [
                HI,
                {"role": "assistant", "content": [tool_use(1, {"q": "a"}), tool_use(2, {"q": "b"})]},
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "call_1", "content": "A"},
                        {"type": "tool_result", "tool_use_id": "call_2", "content": "B"},
                    ],
                },
            ],
            tools=CLAUDE_TOOLS,
        ),
    ),
    Case(
        "23",
        openai([HI, assistant_calls("")], tools=TOOLS),
        claude([HI, {"role": "assistant", "content": [tool_use(1, {})]}], tools=CLAUDE_TOOLS),
    ),
    Case(
        "24",
        openai([HI], tools=TOOLS, tool_choice="required", parallel_tool_calls=False),
        claude([HI], tools=CLAUDE_TOOLS, tool_choice={"type": "any", "disable_parallel_tool_use": True}),
    ),
    Case(
        # n>1 is dropped (one choice is answered): documented in openai_to_claude/_request.py.
        "25",
        {"model": "gpt-4o", "messages": [HI], "stop": "X", "n": 2},
        claude([HI], max_tokens=4096, stop_sequences=["X"]),
    ),
    Case(
        "26-assistant-first",
        openai([{"role": "system", "content": "S"}, {"role": "assistant", "content": "Hello"}, HI]),
        claude(
            [
                {"role": "user", "content": "..."},
                {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
                HI,
            ],
            system=[{"type": "text", "text": "S"}],
        ),
    ),
    Case(
        "26-empty-user",
        openai([{"role": "user", "content": ""}]),
        claude([{"role": "user", "content": "..."}]),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"case-{c.id}" for c in CASES])
def test_openai_request_converts_exactly(case: Case) -> None:
    assert convert_request(case.body, model="claude-sonnet-4") == case.expected
