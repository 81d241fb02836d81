from __future__ import annotations

import pytest

from services.proxy_service.formats.reasoning import (
    Thinking,
    budget_for,
    claude_thinking,
    effort_for,
    is_reasoning_model,
)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-5", True),
        ("gpt-5-mini", True),
        ("openai/o3-mini", True),
        ("o4-mini", True),
        ("o1", True),
        ("gpt-5-chat-latest", False),
        ("gpt-4o", False),
        ("deepseek-chat", False),
    ],
)
def test_reasoning_models_are_recognised_by_name(model: str, expected: bool) -> None:
    assert is_reasoning_model(model) is expected


@pytest.mark.parametrize(
    ("budget", "effort"), [(1024, "low"), (4000, "low"), (4096, "medium"), (10000, "medium"), (31999, "high")]
)
def test_claude_code_thinking_tiers_land_on_distinct_efforts(budget: int, effort: str) -> None:
    assert effort_for(Thinking("enabled", budget)) == effort


def test_adaptive_thinking_follows_its_effort() -> None:
    assert effort_for(Thinking("adaptive")) == "medium"
    assert effort_for(Thinking("adaptive", effort="low")) == "low"
    assert effort_for(Thinking("adaptive", effort="max")) == "high"


def test_disabled_or_absent_thinking_asks_for_no_effort() -> None:
    assert effort_for(Thinking("disabled")) is None
    assert effort_for(Thinking(None)) is None


def test_only_a_known_type_turns_thinking_on() -> None:
    assert claude_thinking({"thinking": {"type": "disabled"}}).disabled
    assert not claude_thinking({"thinking": {"type": "disabled"}}).on
    assert claude_thinking({"thinking": {"type": "enabled", "budget_tokens": 2000}}) == Thinking(
        "enabled", 2000
    )
    assert claude_thinking({"thinking": True}) == Thinking(None)


def test_efforts_map_to_budgets_and_minimal_means_off() -> None:
    assert [budget_for(e) for e in ("minimal", "none", "low", "medium", "high")] == [
        None,
        None,
        2048,
        8192,
        24576,
    ]
