"""Thinking (Anthropic) ⇄ reasoning (OpenAI and its compatibles), and OpenAI's reasoning models.

Budgets and efforts do not map one to one; the buckets below follow Claude Code's own tiers
("think" ≈ 4k, "think hard" ≈ 10k, "ultrathink" ≈ 32k tokens) so each lands on a different effort,
and the way back uses a budget inside each bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
_EFFORTS = ("low", "medium", "high")
_BUDGETS = {"low": 2048, "medium": 8192, "high": 24576, "xhigh": 32768, "max": 32768}
MIN_BUDGET = 1024  # Anthropic's minimum `budget_tokens`


def is_reasoning_model(model: str) -> bool:
    """OpenAI o-series and gpt-5 models: `max_completion_tokens`, fixed sampling, `reasoning_effort`.

    A provider prefix (`openai/gpt-5`) is ignored; `gpt-5-chat-*` is a plain chat model."""
    name = model.rsplit("/", 1)[-1].lower()
    return name.startswith(_REASONING_PREFIXES) and "-chat" not in name


@dataclass(frozen=True, slots=True)
class Thinking:
    """What a Claude request says about thinking: `mode` is None when it says nothing."""

    mode: str | None  # "enabled", "adaptive" or "disabled"
    budget: int | None = None
    effort: str | None = None  # `output_config.effort`, for adaptive thinking

    @property
    def disabled(self) -> bool:
        return self.mode == "disabled"

    @property
    def on(self) -> bool:
        return self.mode in ("enabled", "adaptive")


def claude_thinking(body: dict[str, Any]) -> Thinking:
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "adaptive", "disabled"):
        return Thinking(None)
    budget = thinking.get("budget_tokens")
    config = body.get("output_config")
    effort = config.get("effort") if isinstance(config, dict) else None
    return Thinking(
        thinking["type"],
        budget if isinstance(budget, int) and not isinstance(budget, bool) else None,
        effort if isinstance(effort, str) else None,
    )


def effort_for(thinking: Thinking) -> str | None:
    """The `reasoning_effort` matching a Claude thinking setting (None: ask for nothing)."""
    if thinking.mode == "enabled":
        budget = thinking.budget or MIN_BUDGET
        return "low" if budget < 4096 else "medium" if budget < 16384 else "high"
    if thinking.mode == "adaptive":
        if thinking.effort in _EFFORTS:
            return thinking.effort
        return "high" if thinking.effort == "max" else "medium"
    return None


def budget_for(effort: Any) -> int | None:
    """The thinking budget for an OpenAI `reasoning_effort` (None: no thinking, e.g. minimal/none)."""
    return _BUDGETS.get(effort) if isinstance(effort, str) else None


def reasoning_text(delta: dict[str, Any]) -> str:
    """Reasoning carried by an OpenAI message or delta: DeepSeek/vLLM `reasoning_content`,
    OpenRouter `reasoning` (or, failing both, the text of its `reasoning_details`)."""
    for key in ("reasoning_content", "reasoning"):
        value = delta.get(key)
        if isinstance(value, str) and value:
            return value
    details = delta.get("reasoning_details")
    if isinstance(details, list):
        return "".join(d["text"] for d in details if isinstance(d, dict) and isinstance(d.get("text"), str))
    return ""


def reasoning_signature(delta: dict[str, Any]) -> str:
    """A real signature OpenRouter passes on from Anthropic models (never made up here)."""
    details = delta.get("reasoning_details")
    if isinstance(details, list):
        for d in details:
            if isinstance(d, dict) and isinstance(d.get("signature"), str) and d["signature"]:
                return d["signature"]
    return ""
