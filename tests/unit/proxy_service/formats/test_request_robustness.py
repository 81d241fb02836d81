"""Whatever shape a client's fields have, converting the request never raises: a malformed body is
the upstream's to refuse (a clean 400), not a crash in the proxy."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.proxy_service.formats import claude_to_openai, openai_to_claude
from services.proxy_service.formats.foundry import clean_for_foundry
from services.proxy_service.formats.providers import provider_for
from services.proxy_service.formats.tool_names import ToolNameMap

WORDS = [
    "user",
    "assistant",
    "system",
    "tool",
    "text",
    "image",
    "tool_use",
    "tool_result",
    "thinking",
    "base64",
    "url",
    "function",
    "enabled",
    "disabled",
    "auto",
    "any",
    "required",
    "data:image/png;base64,AA",
    "",
]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 5000), st.sampled_from(WORDS))
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(WORDS), inner, max_size=3)
    ),
    max_leaves=6,
)


def shaped(kinds: list[str], keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects that look like the real thing (a known `type`) with fields of any type."""
    return st.fixed_dictionaries({"type": st.sampled_from(kinds)}, optional=dict.fromkeys(keys, anything))


BLOCK_KEYS = [
    "text",
    "source",
    "id",
    "name",
    "input",
    "tool_use_id",
    "content",
    "is_error",
    "thinking",
    "signature",
    "data",
    "image_url",
    "file",
    "cache_control",
]
blocks = shaped(
    [
        "text",
        "image",
        "tool_use",
        "tool_result",
        "thinking",
        "redacted_thinking",
        "document",
        "image_url",
        "file",
    ],
    BLOCK_KEYS,
)
content = st.one_of(st.lists(blocks, min_size=1, max_size=5), anything)
calls = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "id": anything,
            "index": anything,
            "function": st.one_of(
                anything, st.fixed_dictionaries({}, optional={"name": anything, "arguments": anything})
            ),
        },
    ),
    max_size=3,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "developer", "tool"])},
        optional={
            "content": content,
            "tool_calls": st.one_of(calls, anything),
            "tool_call_id": anything,
            "thinking_blocks": st.one_of(st.lists(blocks, max_size=2), anything),
        },
    ),
    min_size=1,
    max_size=6,
)
tools = st.lists(
    st.one_of(
        shaped(
            ["function", "custom", "bash_20250124"],
            ["name", "description", "input_schema", "function", "parameters"],
        ),
        anything,
    ),
    max_size=3,
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "messages": messages,
        "system": st.one_of(st.lists(blocks, max_size=3), anything),
        "tools": st.one_of(tools, anything),
        "tool_choice": st.one_of(
            shaped(["auto", "any", "tool", "none", "function"], ["name", "function"]), anything
        ),
        "thinking": st.one_of(shaped(["enabled", "disabled", "adaptive"], ["budget_tokens"]), anything),
        **dict.fromkeys(
            [
                "stop_sequences",
                "stop",
                "metadata",
                "user",
                "max_tokens",
                "max_completion_tokens",
                "temperature",
                "top_p",
                "top_k",
                "stream",
                "stream_options",
                "reasoning_effort",
                "reasoning",
                "parallel_tool_calls",
                "output_format",
                "output_config",
                "n",
            ],
            anything,
        ),
    },
)


@settings(max_examples=80, deadline=None)
@given(bodies, st.sampled_from([None, "deepseek", "openrouter", "openai"]), st.sampled_from(["gpt-4o", "o3"]))
def test_any_claude_body_converts_without_raising(
    body: dict[str, Any], provider: str | None, model: str
) -> None:
    claude_to_openai.convert_request(body, model=model, provider=provider_for(provider), names=ToolNameMap())
    clean_for_foundry(body)


@settings(max_examples=80, deadline=None)
@given(bodies)
def test_any_openai_body_converts_without_raising(body: dict[str, Any]) -> None:
    out = openai_to_claude.convert_request(body, model="claude-sonnet-4")
    assert out["messages"] and out["messages"][0]["role"] == "user"


MALFORMED_CLAUDE = [
    {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
    {"system": [{"type": "text", "text": 5}], "messages": []},
    {"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "data": 5}}]}]},
    {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "x", "content": [{"text": 5}]}],
            }
        ]
    },
    {
        "messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": ["a"], "name": "n", "input": [1]}]}
        ]
    },
    {
        "tools": [{"name": "f", "description": 5, "input_schema": [1]}],
        "tool_choice": {"type": "tool", "name": 5},
    },
    {
        "stop_sequences": [1, None],
        "metadata": {"user_id": 5},
        "thinking": {"type": "enabled", "budget_tokens": "x"},
    },
    {"messages": 1},
]
MALFORMED_OPENAI = [
    {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": 5}}]}]},
    {
        "messages": [
            {
                "role": "assistant",
                "content": 5,
                "tool_calls": [{"id": 5, "function": {"name": 5, "arguments": 5}}],
            }
        ]
    },
    {"messages": [{"role": "assistant", "tool_calls": 5}]},
    {"messages": [{"role": "assistant", "thinking_blocks": 5, "content": "x"}]},
    {"messages": [{"role": "tool", "tool_call_id": 5, "content": [{"text": 5}]}]},
    {"messages": [], "stop": 5, "user": 5, "temperature": "hot", "max_tokens": -1, "reasoning_effort": ["x"]},
    {"messages": 1},
]


@pytest.mark.parametrize("body", MALFORMED_CLAUDE)
def test_known_malformed_claude_shapes_convert_without_raising(body: dict[str, Any]) -> None:
    for provider in (None, "deepseek", "openai"):
        claude_to_openai.convert_request(
            body, model="anthropic/claude-x", provider=provider_for(provider), names=ToolNameMap()
        )
    clean_for_foundry(body)


@pytest.mark.parametrize("body", MALFORMED_OPENAI)
def test_known_malformed_openai_shapes_convert_without_raising(body: dict[str, Any]) -> None:
    openai_to_claude.convert_request(body, model="claude-sonnet-4")
