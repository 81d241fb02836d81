"""Why an answer ended, in each API's words (conversion.md §2.4 step 10, §2.6)."""

from __future__ import annotations

_CLAUDE_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

_OPENAI_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
}


def claude_stop_reason(finish_reason: object, *, used_tools: bool) -> str:
    """Any tool call in the answer means `tool_use`: OpenAI says `stop` when a tool was forced."""
    if used_tools:
        return "tool_use"
    return _CLAUDE_STOP.get(finish_reason, "end_turn") if isinstance(finish_reason, str) else "end_turn"


def openai_finish_reason(stop_reason: object) -> str:
    """Unknown reasons never leak through as finish_reason strings OpenAI clients do not know."""
    return _OPENAI_FINISH.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"
