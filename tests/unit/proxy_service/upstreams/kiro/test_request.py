from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.proxy_service.formats.tool_names import ToolNameMap
from services.proxy_service.upstreams.kiro.request import (
    ACKNOWLEDGED,
    CONTINUE,
    MAX_THINKING_BUDGET,
    STUB_DESCRIPTION,
    UnknownKiroModel,
    build_payload,
    normalize_schema,
)
from shared.kiro_models import PUBLIC_MODELS, kiro_model_id

MODEL = "claude-sonnet-4-5"
MODEL_ID = "CLAUDE_SONNET_4_5_20250929_V1_0"
ARN = "arn:aws:codewhisperer:us-east-1:123456789012:profile/ABC"
LONG_NAME = "mcp__some_server__" + "a_really_long_tool_name_" * 3  # 90 characters


def build(messages: Any = None, *, names: ToolNameMap | None = None, **fields: Any) -> dict[str, Any]:
    body = {"model": MODEL, "max_tokens": 1024, "messages": messages or [{"role": "user", "content": "hi"}]}
    return build_payload({**body, **fields}, names=names or ToolNameMap(), profile_arn=ARN)


def state(payload: dict[str, Any]) -> dict[str, Any]:
    return payload["conversationState"]


def current(payload: dict[str, Any]) -> dict[str, Any]:
    return state(payload)["currentMessage"]["userInputMessage"]


def history(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return state(payload).get("history", [])


def roles(payload: dict[str, Any]) -> list[str]:
    return ["user" if "userInputMessage" in h else "assistant" for h in history(payload)]


def contents(payload: dict[str, Any]) -> list[str]:
    return [next(iter(h.values()))["content"] for h in history(payload)]


def tool_specs(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    tools = current(payload).get("userInputMessageContext", {}).get("tools", [])
    return {t["toolSpecification"]["name"]: t["toolSpecification"] for t in tools}


def tool_use(id: str, name: str, input: Any = None) -> dict[str, Any]:
    return {"type": "tool_use", "id": id, "name": name, "input": {} if input is None else input}


def tool_result(id: str, content: Any = "ok", **extra: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": id, "content": content, **extra}


# --- the envelope ------------------------------------------------------------------------------------


def test_a_single_user_message_is_the_current_message_with_no_history() -> None:
    payload = build([{"role": "user", "content": "Hello"}])

    assert current(payload) == {"content": "Hello", "modelId": MODEL_ID, "origin": "AI_EDITOR"}
    assert "history" not in state(payload)
    assert state(payload)["chatTriggerType"] == "MANUAL"
    assert payload["profileArn"] == ARN


def test_each_call_gets_a_fresh_conversation_id_unless_one_is_given() -> None:
    first, second = build(), build()
    given_id = build_payload(
        {"model": MODEL, "messages": [{"role": "user", "content": "x"}]},
        names=ToolNameMap(),
        profile_arn=None,
        conversation_id="conv-1",
    )

    assert state(first)["conversationId"] != state(second)["conversationId"]
    assert state(given_id)["conversationId"] == "conv-1"


@pytest.mark.parametrize("arn", [None, ""])
def test_profile_arn_is_left_out_when_there_is_none(arn: str | None) -> None:
    payload = build_payload(
        {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}, names=ToolNameMap(), profile_arn=arn
    )

    assert "profileArn" not in payload


def test_sampling_max_tokens_and_tool_choice_are_not_sent() -> None:
    payload = build(temperature=0.2, top_p=0.9, stop_sequences=["x"], tool_choice={"type": "any"})

    assert b"temperature" not in orjson.dumps(payload)
    assert b"inferenceConfig" not in orjson.dumps(payload)
    assert set(payload) == {"conversationState", "profileArn"}


@pytest.mark.parametrize(
    ("model", "model_id"),
    [
        ("claude-sonnet-4-5", "CLAUDE_SONNET_4_5_20250929_V1_0"),
        ("claude-sonnet-4-20250514", "CLAUDE_SONNET_4_20250514_V1_0"),
        ("claude-opus-4-6", "claude-opus-4.6"),
        ("Claude-Haiku-4-5", "claude-haiku-4.5"),
        ("claude-haiku-4.5", "claude-haiku-4.5"),  # a Kiro id is accepted as it is
        ("auto", "CLAUDE_SONNET_4_5_20250929_V1_0"),
    ],
)
def test_the_model_id_comes_from_the_shared_table(model: str, model_id: str) -> None:
    payload = build(
        model=model, messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    )

    assert current(payload)["modelId"] == model_id
    assert history(payload)[0]["userInputMessage"]["modelId"] == model_id


def test_every_public_model_has_a_kiro_id() -> None:
    for model in PUBLIC_MODELS:
        assert current(build(model=model))["modelId"] == kiro_model_id(model)


@pytest.mark.parametrize("model", ["gpt-4o", "claude-2", "", None, 42])
def test_an_unknown_model_is_refused(model: Any) -> None:
    with pytest.raises(UnknownKiroModel):
        build(model=model)


# --- system prompt and thinking ----------------------------------------------------------------------


def test_a_string_system_prompt_is_the_first_history_pair() -> None:
    payload = build([{"role": "user", "content": "Hello"}], system="You are terse.")

    assert roles(payload) == ["user", "assistant"]
    assert contents(payload) == ["You are terse.", ACKNOWLEDGED]
    assert current(payload)["content"] == "Hello"
    assert "systemPrompt" not in orjson.dumps(payload).decode()


def test_system_blocks_are_joined_and_non_text_blocks_skipped() -> None:
    system = [
        {"type": "text", "text": "Rule one.", "cache_control": {"type": "ephemeral"}},
        {"type": "image", "source": {}},
        {"type": "text", "text": ""},
        {"type": "text", "text": "Rule two."},
    ]

    assert contents(build(system=system))[0] == "Rule one.\nRule two."


@pytest.mark.parametrize("system", [None, "", [], [{"type": "text", "text": ""}]])
def test_no_system_prompt_means_no_synthetic_pair(system: Any) -> None:
    assert "history" not in state(build(system=system))


def test_enabled_thinking_prefixes_the_system_prompt_with_the_budget() -> None:
    payload = build(system="Be brief.", thinking={"type": "enabled", "budget_tokens": 4000})

    assert contents(payload)[0] == (
        "<thinking_mode>enabled</thinking_mode><max_thinking_length>4000</max_thinking_length>\nBe brief."
    )


def test_the_thinking_budget_is_capped() -> None:
    payload = build(thinking={"type": "enabled", "budget_tokens": 100_000})

    assert f"<max_thinking_length>{MAX_THINKING_BUDGET}</max_thinking_length>" in contents(payload)[0]
    assert MAX_THINKING_BUDGET == 24_576


def test_enabled_thinking_without_a_budget_uses_the_default() -> None:
    assert (
        "<max_thinking_length>16000</max_thinking_length>" in contents(build(thinking={"type": "enabled"}))[0]
    )


def test_thinking_alone_makes_a_system_pair() -> None:
    payload = build(thinking={"type": "enabled", "budget_tokens": 2048})

    assert roles(payload) == ["user", "assistant"]
    assert contents(payload)[0].startswith("<thinking_mode>enabled</thinking_mode>")


@pytest.mark.parametrize(("effort", "expected"), [("low", "low"), ("max", "max"), (None, "high")])
def test_adaptive_thinking_names_the_effort(effort: str | None, expected: str) -> None:
    fields: dict[str, Any] = {"thinking": {"type": "adaptive"}}
    if effort:
        fields["output_config"] = {"effort": effort}

    assert contents(build(**fields))[0] == (
        f"<thinking_mode>adaptive</thinking_mode><thinking_effort>{expected}</thinking_effort>"
    )


@pytest.mark.parametrize("thinking", [None, {"type": "disabled"}, {"type": "bogus"}, "yes"])
def test_no_thinking_tags_unless_thinking_is_asked_for(thinking: Any) -> None:
    payload = build(system="S", thinking=thinking)

    assert "thinking_mode" not in orjson.dumps(payload).decode()
    assert contents(payload)[0] == "S"


def test_a_system_prompt_that_already_sets_the_mode_is_left_alone() -> None:
    system = "<thinking_mode>interleaved</thinking_mode> Rules."

    assert contents(build(system=system, thinking={"type": "enabled"}))[0] == system


# --- turns -------------------------------------------------------------------------------------------


def test_history_alternates_and_the_last_user_turn_is_current() -> None:
    messages = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"},
        {"role": "user", "content": [{"type": "text", "text": "three"}]},
    ]
    payload = build(messages)

    assert roles(payload) == ["user", "assistant"]
    assert contents(payload) == ["one", "two"]
    assert history(payload)[0]["userInputMessage"]["origin"] == "AI_EDITOR"
    assert history(payload)[1] == {"assistantResponseMessage": {"content": "two"}}
    assert current(payload)["content"] == "three"


def test_adjacent_turns_of_one_role_are_merged() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "user", "content": [{"type": "text", "text": "b"}, {"type": "text", "text": "c"}]},
        {"role": "assistant", "content": "d"},
        {"role": "assistant", "content": "e"},
        {"role": "user", "content": "f"},
        {"role": "user", "content": "g"},
    ]
    payload = build(messages)

    assert roles(payload) == ["user", "assistant"]
    assert contents(payload) == ["a\n\nb\n\nc", "d\n\ne"]
    assert current(payload)["content"] == "f\n\ng"


def test_a_conversation_opening_with_the_assistant_gets_a_user_turn_first() -> None:
    payload = build([{"role": "assistant", "content": "Hi there"}, {"role": "user", "content": "ok"}])

    assert roles(payload) == ["user", "assistant"]
    assert contents(payload) == [CONTINUE, "Hi there"]


def test_a_final_assistant_turn_moves_to_history_and_the_model_is_asked_to_continue() -> None:
    messages = [{"role": "user", "content": "Write a poem"}, {"role": "assistant", "content": "Roses are"}]
    payload = build(messages)

    assert roles(payload) == ["user", "assistant"]
    assert contents(payload) == ["Write a poem", "Roses are"]
    assert current(payload)["content"] == CONTINUE


@pytest.mark.parametrize("messages", [[], "text", None, [{"role": "system", "content": "x"}], [42]])
def test_no_usable_messages_still_gives_a_current_message(messages: Any) -> None:
    payload = build_payload({"model": MODEL, "messages": messages}, names=ToolNameMap(), profile_arn=None)

    assert current(payload)["content"] == CONTINUE


def test_an_empty_current_turn_asks_to_continue() -> None:
    assert current(build([{"role": "user", "content": []}]))["content"] == CONTINUE


def test_a_non_string_text_is_never_sent_as_content() -> None:
    payload = build(
        [{"role": "user", "content": [{"type": "text", "text": 123}, {"type": "text", "text": None}]}]
    )

    assert current(payload)["content"] == CONTINUE


def test_assistant_thinking_goes_back_as_inline_tags_before_the_text() -> None:
    messages = [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "ponder", "signature": "sig"},
                {"type": "text", "text": "answer"},
                {"type": "redacted_thinking", "data": "xxx"},
            ],
        },
        {"role": "user", "content": "next"},
    ]

    assert contents(build(messages))[1] == "<thinking>ponder</thinking>\n\nanswer"


def test_a_text_document_is_carried_as_text() -> None:
    document = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "DOC BODY"},
    }
    payload = build([{"role": "user", "content": [document, {"type": "text", "text": "summarise"}]}])

    assert current(payload)["content"] == "DOC BODY\n\nsummarise"


# --- tools -------------------------------------------------------------------------------------------


def test_tools_go_on_the_current_message_with_their_schema() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    payload = build(tools=[{"name": "get_weather", "description": "Weather now", "input_schema": schema}])

    assert tool_specs(payload) == {
        "get_weather": {"name": "get_weather", "description": "Weather now", "inputSchema": {"json": schema}}
    }


def test_a_tool_without_a_description_is_described_by_its_name() -> None:
    assert tool_specs(build(tools=[{"name": "ping", "input_schema": {}}]))["ping"]["description"] == "ping"


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (None, {"type": "object", "properties": {}}),
        ({"type": "object", "properties": None, "required": None}, {"type": "object", "properties": {}}),
        ({"type": "", "properties": []}, {"type": "object", "properties": {}}),
        (
            {"type": "object", "properties": {"a": {}}, "required": ["a", 3, None, {"x": 1}]},
            {"type": "object", "properties": {"a": {}}, "required": ["a"]},
        ),
        ({"type": "object", "properties": {}, "required": [1, 2]}, {"type": "object", "properties": {}}),
        ({"type": "object", "properties": {}, "required": "a"}, {"type": "object", "properties": {}}),
        (
            {"type": "object", "properties": {}, "additionalProperties": "no"},
            {"type": "object", "properties": {}, "additionalProperties": True},
        ),
        (
            {"type": "object", "properties": {}, "additionalProperties": False},
            {"type": "object", "properties": {}, "additionalProperties": False},
        ),
        (
            {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
            {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
        ),
    ],
)
def test_schemas_are_normalised_to_what_kiro_accepts(schema: Any, expected: dict[str, Any]) -> None:
    assert normalize_schema(schema) == expected
    assert (
        tool_specs(build(tools=[{"name": "t", "input_schema": schema}]))["t"]["inputSchema"]["json"]
        == expected
    )


def test_normalising_does_not_change_the_clients_schema() -> None:
    schema = {"type": "object", "properties": None, "required": [1]}

    normalize_schema(schema)

    assert schema == {"type": "object", "properties": None, "required": [1]}


def test_server_tools_and_nameless_tools_are_skipped() -> None:
    tools = [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
        {"type": "bash_20250124", "name": "bash"},
        {"type": "custom", "name": "mine", "input_schema": {}},
        {"description": "no name"},
        "junk",
        {"name": "plain", "input_schema": {}},
    ]

    assert set(tool_specs(build(tools=tools))) == {"mine", "plain"}


def test_no_tools_means_no_tools_field() -> None:
    assert "userInputMessageContext" not in current(build(tools=[]))


def test_a_long_tool_description_moves_into_the_system_prompt() -> None:
    long = "Use this tool carefully. " * 500  # 12,500 characters
    tools = [{"name": "big", "description": long, "input_schema": {}}, {"name": "small", "description": "s"}]
    payload = build(system="Base.", tools=tools)

    spec = tool_specs(payload)["big"]
    assert spec["description"] == "[Full documentation in system prompt under '## Tool: big']"
    assert contents(payload)[0] == f"Base.\n\n# Tool Documentation\n## Tool: big\n{long}"
    assert tool_specs(payload)["small"]["description"] == "s"


def test_a_long_tool_description_alone_makes_the_system_pair() -> None:
    long = "x" * 10_001
    payload = build(tools=[{"name": "big", "description": long}])

    assert contents(payload)[0] == f"# Tool Documentation\n## Tool: big\n{long}"
    assert contents(payload)[1] == ACKNOWLEDGED


def test_a_description_of_exactly_the_limit_stays_on_the_tool() -> None:
    description = "y" * 10_000

    assert (
        tool_specs(build(tools=[{"name": "t", "description": description}]))["t"]["description"]
        == description
    )


def test_an_over_long_tool_name_is_replaced_and_mapped_back_by_the_same_map() -> None:
    names = ToolNameMap()
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [tool_use("toolu_1", LONG_NAME, {"a": 1})]},
        {"role": "user", "content": [tool_result("toolu_1")]},
    ]
    payload = build(messages, names=names, tools=[{"name": LONG_NAME, "input_schema": {}}])

    [sent] = tool_specs(payload)
    assert len(LONG_NAME) > 64 and len(sent) <= 64
    assert history(payload)[1]["assistantResponseMessage"]["toolUses"][0]["name"] == sent
    assert names.client(sent) == LONG_NAME


def test_a_name_with_odd_characters_is_replaced_and_mapped_back() -> None:
    names = ToolNameMap()
    [sent] = tool_specs(build(names=names, tools=[{"name": "server.tool/read", "input_schema": {}}]))

    assert sent == "server_tool_read"
    assert names.client(sent) == "server.tool/read"


# --- tool uses and results ---------------------------------------------------------------------------


def conversation(*results: dict[str, Any], uses: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "text", "text": "Calling."}, *(uses or [])]},
        {"role": "user", "content": list(results)},
    ]


def test_tool_uses_in_assistant_history_become_tool_uses() -> None:
    uses = [tool_use("toolu_1", "read", {"path": "/a"}), tool_use("toolu_2", "list", "not a dict")]
    payload = build(conversation(tool_result("toolu_1"), tool_result("toolu_2"), uses=uses))

    assert history(payload)[1]["assistantResponseMessage"] == {
        "content": "Calling.",
        "toolUses": [
            {"toolUseId": "toolu_1", "name": "read", "input": {"path": "/a"}},
            {"toolUseId": "toolu_2", "name": "list", "input": {}},
        ],
    }


def test_tool_results_are_paired_with_status_and_text() -> None:
    uses = [tool_use("toolu_1", "read"), tool_use("toolu_2", "read")]
    results = [tool_result("toolu_1", "file body"), tool_result("toolu_2", "boom", is_error=True)]
    payload = build(conversation(*results, uses=uses))

    assert current(payload)["userInputMessageContext"]["toolResults"] == [
        {"toolUseId": "toolu_1", "content": [{"text": "file body"}], "status": "success"},
        {"toolUseId": "toolu_2", "content": [{"text": "boom"}], "status": "error"},
    ]
    assert current(payload)["content"] == CONTINUE


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("plain", "plain"),
        ([{"type": "text", "text": "one"}, {"type": "text", "text": "two"}], "one\ntwo"),
        (
            [
                {"type": "text", "text": "see"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
            ],
            "see\n[Image]",
        ),
        (["bare string"], "bare string"),
        (None, ""),
        ({"k": 1}, '{"k":1}'),
    ],
)
def test_tool_result_content_becomes_text(content: Any, text: str) -> None:
    payload = build(conversation(tool_result("toolu_1", content), uses=[tool_use("toolu_1", "read")]))

    assert current(payload)["userInputMessageContext"]["toolResults"][0]["content"] == [{"text": text}]


def test_is_error_must_be_true_to_mark_an_error() -> None:
    payload = build(
        conversation(tool_result("toolu_1", "x", is_error="yes"), uses=[tool_use("toolu_1", "read")])
    )

    assert current(payload)["userInputMessageContext"]["toolResults"][0]["status"] == "success"


def test_an_orphan_tool_result_becomes_text_and_is_not_dropped() -> None:
    payload = build(
        conversation(
            tool_result("toolu_1", "paired"),
            tool_result("toolu_gone", "orphan output"),
            {"type": "text", "text": "and a question"},
            uses=[tool_use("toolu_1", "read")],
        )
    )

    assert [r["toolUseId"] for r in current(payload)["userInputMessageContext"]["toolResults"]] == ["toolu_1"]
    assert current(payload)["content"] == "and a question\n\n[Tool result for toolu_gone]\norphan output"


def test_a_tool_result_in_the_first_turn_becomes_text() -> None:
    payload = build([{"role": "user", "content": [tool_result("", "early")]}], system="S")

    assert "userInputMessageContext" not in current(payload)
    assert current(payload)["content"] == "[Tool result for an unknown call]\nearly"


def test_a_result_answering_an_older_turn_becomes_text_in_history() -> None:
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [tool_use("toolu_1", "read")]},
        {"role": "user", "content": [tool_result("toolu_1", "first")]},
        {"role": "assistant", "content": "thanks"},
        {"role": "user", "content": [tool_result("toolu_1", "again")]},
    ]
    payload = build(messages)

    assert history(payload)[2]["userInputMessage"]["userInputMessageContext"]["toolResults"][0][
        "toolUseId"
    ] == ("toolu_1")
    assert "toolResults" not in current(payload)["userInputMessageContext"]
    assert current(payload)["content"] == "[Tool result for toolu_1]\nagain"


def test_a_tool_used_in_history_but_not_declared_gets_a_stub_spec() -> None:
    messages = conversation(tool_result("toolu_1"), uses=[tool_use("toolu_1", "legacy_tool")])
    payload = build(messages, tools=[{"name": "other", "input_schema": {}}])

    specs = tool_specs(payload)
    assert set(specs) == {"other", "legacy_tool"}
    assert specs["legacy_tool"] == {
        "name": "legacy_tool",
        "description": STUB_DESCRIPTION,
        "inputSchema": {"json": {"type": "object", "properties": {}}},
    }


def test_a_stub_is_added_once_for_a_tool_used_many_times() -> None:
    uses = [tool_use("a", "t"), tool_use("b", "t")]

    assert list(tool_specs(build(conversation(tool_result("a"), tool_result("b"), uses=uses)))) == ["t"]


def test_a_server_tool_used_in_history_gets_a_stub() -> None:
    messages = conversation(tool_result("toolu_1"), uses=[tool_use("toolu_1", "web_search")])
    payload = build(messages, tools=[{"type": "web_search_20250305", "name": "web_search"}])

    assert tool_specs(payload)["web_search"]["description"] == STUB_DESCRIPTION


def test_tool_blocks_in_the_wrong_role_are_ignored() -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "q"}, tool_use("x", "sneaky")]},
        {"role": "assistant", "content": [{"type": "text", "text": "a"}, tool_result("x", "odd")]},
        {"role": "user", "content": "next"},
    ]
    payload = build(messages)

    assert "toolUses" not in history(payload)[1]["assistantResponseMessage"]
    assert "userInputMessageContext" not in history(payload)[0]["userInputMessage"]
    assert tool_specs(payload) == {}


# --- images ------------------------------------------------------------------------------------------


def image(media_type: str, data: str = "iVBORw0KGgo=") -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


@pytest.mark.parametrize(
    ("media_type", "fmt"),
    [
        ("image/png", "png"),
        ("image/jpeg", "jpeg"),
        ("image/jpg", "jpeg"),
        ("IMAGE/GIF", "gif"),
        ("image/webp", "webp"),
    ],
)
def test_base64_images_go_on_the_user_message(media_type: str, fmt: str) -> None:
    payload = build(
        [{"role": "user", "content": [image(media_type), {"type": "text", "text": "what is it"}]}]
    )

    assert current(payload)["images"] == [{"format": fmt, "source": {"bytes": "iVBORw0KGgo="}}]
    assert current(payload)["content"] == "what is it"


def test_images_stay_on_the_history_turn_that_had_them() -> None:
    messages = [
        {"role": "user", "content": [image("image/png", "AAAA")]},
        {"role": "assistant", "content": "a cat"},
        {"role": "user", "content": "thanks"},
    ]
    payload = build(messages)

    assert history(payload)[0]["userInputMessage"]["images"] == [
        {"format": "png", "source": {"bytes": "AAAA"}}
    ]
    assert history(payload)[0]["userInputMessage"]["content"] == CONTINUE
    assert "images" not in current(payload)


@pytest.mark.parametrize(
    "source",
    [
        {"type": "url", "url": "https://example.com/cat.png"},
        {"type": "base64", "media_type": "image/tiff", "data": "AAAA"},
        {"type": "base64", "media_type": "image/png", "data": ""},
        None,
    ],
)
def test_images_kiro_cannot_take_become_text(source: Any) -> None:
    payload = build([{"role": "user", "content": [{"type": "image", "source": source}]}])

    assert "images" not in current(payload)
    assert current(payload)["content"] == "[Image]"


# --- the property ------------------------------------------------------------------------------------

_ids = st.sampled_from(["t1", "t2", "t3", "", "toolu_x"])
_tool_names = st.sampled_from(["read", "write", "a.b", "a_b", "", LONG_NAME, LONG_NAME + "2", "x" * 64])
_words = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
_result_content = st.one_of(
    _words,
    st.lists(st.one_of(st.builds(lambda t: {"type": "text", "text": t}, _words), _words), max_size=3),
    st.none(),
    st.dictionaries(st.text(max_size=3), st.integers(-(2**63), 2**63 - 1), max_size=2),  # as orjson parses
)
_user_blocks = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, _words),
    st.builds(
        lambda i, c, e: {"type": "tool_result", "tool_use_id": i, "content": c, "is_error": e},
        _ids,
        _result_content,
        st.booleans(),
    ),
    st.builds(image, st.sampled_from(["image/png", "image/bmp"])),
    st.builds(lambda u: {"type": "image", "source": {"type": "url", "url": u}}, _words),
    st.sampled_from([{"type": "mystery"}, {"type": "text"}, {"type": "text", "text": 7}]),
)
_assistant_blocks = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, _words),
    st.builds(lambda t: {"type": "thinking", "thinking": t, "signature": "s"}, _words),
    st.builds(tool_use, _ids, _tool_names, st.one_of(st.none(), st.just({"k": "v"}), st.just([1]))),
    st.just({"type": "redacted_thinking", "data": "zz"}),
)
_messages = st.one_of(
    st.builds(
        lambda c: {"role": "user", "content": c}, st.one_of(_words, st.lists(_user_blocks, max_size=4))
    ),
    st.builds(
        lambda c: {"role": "assistant", "content": c},
        st.one_of(_words, st.lists(_assistant_blocks, max_size=4)),
    ),
    st.just({"role": "user", "content": None}),
    st.just({"role": "assistant", "content": []}),
)
_tools = st.lists(
    st.builds(
        lambda n, d, s: {"name": n, "description": d, "input_schema": s},
        _tool_names,
        st.one_of(_words, st.just("d" * 10_001)),
        st.one_of(st.none(), st.just({"type": "object", "properties": None, "required": [1, "a"]})),
    ),
    max_size=3,
)


def _texts(body: dict[str, Any]) -> list[str]:
    """Every text the client wrote: text blocks, string contents, tool-result texts, the system."""
    found = [body["system"]] if isinstance(body.get("system"), str) else []
    for message in body["messages"]:
        content = message["content"]
        if isinstance(content, str):
            found.append(content)
            continue
        for block in content or ():
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                found.append(block["text"])
            elif block.get("type") == "thinking" and message["role"] == "assistant":
                found.append(block["thinking"])
            elif block.get("type") == "tool_result":
                inner = block["content"]
                if isinstance(inner, str):
                    found.append(inner)
                elif isinstance(inner, list):
                    found += [b if isinstance(b, str) else b["text"] for b in inner]
    return found


def _all_strings(value: Any) -> str:
    """Every string in the payload, joined, so a text found in it was carried somewhere."""
    if isinstance(value, str):
        return value + "\x00"
    if isinstance(value, dict):
        return "".join(_all_strings(v) for v in value.values())
    if isinstance(value, list):
        return "".join(_all_strings(v) for v in value)
    return ""


@settings(max_examples=400)
@given(
    messages=st.lists(_messages, max_size=8),
    tools=_tools,
    system=st.one_of(st.none(), _words),
    thinking=st.sampled_from([None, {"type": "enabled", "budget_tokens": 2048}, {"type": "adaptive"}]),
)
def test_any_conversation_gives_a_payload_kiro_accepts(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]], system: str | None, thinking: Any
) -> None:
    body: dict[str, Any] = {"model": MODEL, "messages": messages, "tools": tools}
    if system is not None:
        body["system"] = system
    if thinking is not None:
        body["thinking"] = thinking
    names = ToolNameMap()

    payload = build_payload(body, names=names, profile_arn=ARN)

    turns = history(payload)
    expected_roles = ["userInputMessage", "assistantResponseMessage"] * (len(turns) // 2)
    assert [next(iter(t)) for t in turns] == expected_roles  # starts with user, strictly alternates
    message = current(payload)
    assert isinstance(message["content"], str) and message["content"]
    for turn in turns:
        content = next(iter(turn.values()))["content"]
        assert isinstance(content, str)
        if "userInputMessage" in turn:
            assert content

    user_messages = [t["userInputMessage"] for t in turns if "userInputMessage" in t] + [message]
    assistants = [t.get("assistantResponseMessage") for t in [{}, *turns[1::2]]]
    for user, before in zip(user_messages, assistants, strict=True):
        answered = {u["toolUseId"] for u in (before or {}).get("toolUses", [])}
        for result in user.get("userInputMessageContext", {}).get("toolResults", []):
            assert result["toolUseId"] in answered
            assert result["status"] in ("success", "error")
            assert [set(c) for c in result["content"]] == [{"text"}]

    declared = set(tool_specs(payload))
    used = {u["name"] for t in turns for u in t.get("assistantResponseMessage", {}).get("toolUses", [])}
    assert used <= declared
    assert all(0 < len(name) <= 64 for name in declared)
    for name in declared:
        assert names.upstream(names.client(name)) == name  # every sent name maps back and forth

    carried = _all_strings(payload)
    for text in _texts(body):
        assert text in carried
