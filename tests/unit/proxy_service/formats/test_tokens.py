"""The token estimator: close to a real Claude tokenizer, monotonic, cheap, and never raising."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.proxy_service.formats.tokens import (
    IMAGE_TOKENS,
    estimate_request_tokens,
    estimate_text_tokens,
)

ENGLISH = (
    "PoolGate is a self-hosted gateway that pools many upstream AI accounts and serves them to "
    "clients through the standard OpenAI and Anthropic APIs. Operators and users register accounts; "
    "client programs call PoolGate with a PoolGate API key; PoolGate picks a healthy account, forwards "
    "the call, converts formats where needed, and keeps every account's credentials fresh."
)
PYTHON = (
    "async def allocate(request: Request) -> Response:\n"
    "    await require_service_token(request)\n"
    "    try:\n"
    "        body = orjson.loads(await request.body())\n"
    '        api_key = body["api_key"]\n'
    "    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:\n"
    '        raise InvalidRequest("body must be a JSON object", param="api_key") from exc\n'
    "    if not isinstance(api_key, str) or not api_key:\n"
    '        raise InvalidRequest("api_key must be a non-empty string", param="api_key")\n'
    '    return Response(orjson.dumps({"ok": True, "count": len(api_key)}))\n'
)
JSON_SCHEMA = (
    '{"name": "get_weather", "description": "Get the current weather in a given location", '
    '"input_schema": {"type": "object", "properties": {"location": {"type": "string", '
    '"description": "The city and state, e.g. San Francisco, CA"}, "unit": {"type": "string", '
    '"enum": ["celsius", "fahrenheit"]}}, "required": ["location"]}}'
)
LOG = (
    "2025-06-01T12:00:03.123Z INFO proxy.started account_service=http://127.0.0.1:8081\n"
    "2025-06-01T12:00:04.551Z WARN relay.retry attempt=2 status=429 retry_after=1.5\n"
    "2025-06-01T12:00:05.002Z ERROR relay.failed account=6f1c2e9a status=503 latency_ms=812\n"
)
MARKDOWN = (
    "## Allocation\n\n"
    "* Answered from memory: each replica keeps an index of active accounts.\n"
    "* Live health is shared in Redis: cooldown-until per account, in-flight count per account.\n"
    "* Choice: weighted random among healthy candidates, skipping cooling and full accounts.\n"
)
CHINESE = "账号池网关把多个上游账号汇集起来，通过标准的接口为客户端提供服务，并自动刷新每个账号的凭据。"


# Counts by the public Claude BPE tokenizer (65k vocabulary), the reference the estimator was
# calibrated against (see the module docstring for the corpus-wide figures).
@pytest.mark.parametrize(
    ("text", "claude_tokens"),
    [(ENGLISH, 73), (PYTHON, 147), (JSON_SCHEMA, 90), (LOG, 108), (MARKDOWN, 61)],
    ids=["english", "python", "json", "log", "markdown"],
)
def test_text_estimates_are_within_a_quarter_of_a_claude_tokenizer(text: str, claude_tokens: int) -> None:
    assert 0.75 * claude_tokens <= estimate_text_tokens(text) <= 1.25 * claude_tokens


def test_cjk_characters_count_about_one_token_each() -> None:
    characters = sum(1 for c in CHINESE if c.isalpha())
    assert characters <= estimate_text_tokens(CHINESE) <= len(CHINESE)
    assert estimate_text_tokens("こんにちは") == 5


def test_empty_text_is_zero_and_any_visible_text_is_at_least_one() -> None:
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens("a") == 1
    assert estimate_text_tokens("?") == 1


def test_a_common_word_is_one_token_and_a_long_identifier_several() -> None:
    assert estimate_text_tokens("hello") == 1
    assert estimate_text_tokens(" accounts") == 1
    assert estimate_text_tokens("getAccountCredentialsByRegion") >= 4
    assert estimate_text_tokens("x" * 90) >= 10


def test_repeating_text_scales_the_estimate() -> None:
    one = estimate_text_tokens(ENGLISH)
    assert 9 * one <= estimate_text_tokens(" ".join([ENGLISH] * 10)) <= 11 * one


@given(st.text(), st.text())
def test_more_text_never_means_fewer_tokens(a: str, b: str) -> None:
    both = estimate_text_tokens(a + b)
    assert both >= estimate_text_tokens(a)
    assert both >= estimate_text_tokens(b)


@given(st.text())
def test_text_estimate_is_a_non_negative_int_for_any_text(text: str) -> None:
    count = estimate_text_tokens(text)
    assert isinstance(count, int) and count >= 0
    assert count <= 2 * len(text.encode("utf-8", "surrogatepass"))


def test_lone_surrogates_do_not_break_the_estimate() -> None:
    assert estimate_text_tokens("a\ud83d b") >= 2


def _request(**extra) -> dict:
    return {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": ENGLISH}], **extra}


def test_a_request_counts_system_messages_and_tools() -> None:
    bare = estimate_request_tokens(_request())
    assert bare >= estimate_text_tokens(ENGLISH)
    with_system = estimate_request_tokens(_request(system=[{"type": "text", "text": MARKDOWN}]))
    assert with_system - bare >= estimate_text_tokens(MARKDOWN)
    assert estimate_request_tokens(_request(system=MARKDOWN)) == with_system
    tool = {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}},
    }
    assert estimate_request_tokens(_request(tools=[tool])) - bare > 15


def test_every_block_kind_adds_to_the_count() -> None:
    blocks = [
        {"type": "text", "text": "look at this"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR" * 1000}},
        {"type": "tool_use", "id": "t1", "name": "read_file", "input": {"path": "/etc/hosts", "lines": 20}},
        {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": PYTHON}]},
        {"type": "tool_result", "tool_use_id": "t2", "content": LOG},
        {"type": "thinking", "thinking": "The user wants the file.", "signature": "sig"},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": MARKDOWN}},
        {"type": "search_result", "title": "Docs", "content": [{"type": "text", "text": "weather"}]},
    ]
    total = estimate_request_tokens({"messages": [{"role": "user", "content": blocks}]})
    parts = [estimate_request_tokens({"messages": [{"role": "user", "content": [b]}]}) for b in blocks]
    empty = estimate_request_tokens({"messages": [{"role": "user", "content": []}]})
    assert all(part > empty for part in parts)
    assert total == sum(parts) - (len(parts) - 1) * empty
    image = estimate_request_tokens({"messages": [{"role": "user", "content": [blocks[1]]}]})
    assert image - empty == IMAGE_TOKENS  # a fixed cost, not the size of its base64


def test_each_message_costs_a_little_framing() -> None:
    one = estimate_request_tokens({"messages": [{"role": "user", "content": "hi"}]})
    two = estimate_request_tokens(
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hi"}]}
    )
    assert two - one > estimate_text_tokens("hi")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "text", "content", "input", "name", "source", "data", "thinking"])
            | st.text(),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)
_BLOCK = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking", "document", "odd"]
        )
        | _JSON
    },
    optional={
        "text": _JSON,
        "content": _JSON,
        "input": _JSON,
        "name": _JSON,
        "source": _JSON,
        "thinking": _JSON,
    },
)
_CONTENT = st.text() | st.lists(_BLOCK | _JSON, max_size=4) | _JSON
_MESSAGE = st.fixed_dictionaries({"role": _JSON, "content": _CONTENT}) | _JSON
_BODY = st.fixed_dictionaries(
    {},
    optional={
        "model": _JSON,
        "system": _CONTENT,
        "messages": st.lists(_MESSAGE, max_size=4) | _JSON,
        "tools": st.lists(
            st.fixed_dictionaries({}, optional={"name": _JSON, "description": _JSON, "input_schema": _JSON})
            | _JSON,
            max_size=3,
        )
        | _JSON,
    },
)


@settings(max_examples=300)
@given(_BODY)
def test_a_request_estimate_never_raises_on_odd_input(body: dict) -> None:
    count = estimate_request_tokens(body)
    assert isinstance(count, int) and count >= 0


@pytest.mark.parametrize("body", [None, [], "text", 7, {"messages": None}, {"messages": [None, 3, "x"]}])
def test_not_a_request_at_all_counts_next_to_nothing(body) -> None:
    assert estimate_request_tokens(body) < 20  # type: ignore[arg-type]


def test_values_json_cannot_encode_and_deep_nesting_do_not_raise() -> None:
    odd_input = {"type": "tool_use", "name": "x", "input": {"n": 2**100, "s": {1, 2}, "bad": "\ud800"}}
    nested: dict = {"type": "text", "text": "bottom"}
    for _ in range(5000):
        nested = {"type": "tool_result", "content": [nested]}
    body = {
        "messages": [{"role": "user", "content": [odd_input, nested]}],
        "tools": [{"input_schema": nested}],
    }
    assert estimate_request_tokens(body) > 0


def test_a_10_kb_request_is_estimated_well_under_a_millisecond() -> None:
    text = (ENGLISH + PYTHON + JSON_SCHEMA + LOG + MARKDOWN) * 7
    body = {
        "model": "claude-sonnet-4-5",
        "system": ENGLISH,
        "messages": [
            {"role": "user" if i % 2 == 0 else "assistant", "content": [{"type": "text", "text": chunk}]}
            for i, chunk in enumerate(text[j : j + 1000] for j in range(0, 9000, 1000))
        ],
    }
    assert 9_000 < len(str(body)) < 12_000
    best = float("inf")
    for _ in range(20):
        started = time.perf_counter()
        estimate_request_tokens(body)
        best = min(best, time.perf_counter() - started)
    assert best < 0.001
