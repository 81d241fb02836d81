"""Token usage between the two APIs (conversion.md §2.7).

Anthropic's `input_tokens` excludes the prompt tokens read from or written to the cache, which it
reports apart; OpenAI's `prompt_tokens` counts them all and details the cached part. So:
`prompt_tokens = input + cache_read + cache_creation`, and the other way round the cached parts are
subtracted (never below zero).
"""

from __future__ import annotations

from typing import Any


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def claude_usage(openai: Any) -> dict[str, int]:
    """Anthropic usage (all four counters) from an OpenAI `usage` object (or None)."""
    if not isinstance(openai, dict):
        openai = {}
    details = openai.get("prompt_tokens_details")
    if not isinstance(details, dict):
        details = {}
    # DeepSeek reports its cache hits apart; explicit Anthropic-style fields win when present.
    cache_read = _int(
        openai.get("cache_read_input_tokens")
        or details.get("cached_tokens")
        or openai.get("prompt_cache_hit_tokens")
    )
    cache_creation = _int(
        openai.get("cache_creation_input_tokens")
        or details.get("cache_creation_tokens")
        or details.get("cache_write_tokens")
    )
    prompt = _int(openai.get("prompt_tokens"))
    return {
        "input_tokens": max(prompt - cache_read - cache_creation, 0),
        "output_tokens": _int(openai.get("completion_tokens")),
        "cache_creation_input_tokens": cache_creation,
        "cache_read_input_tokens": cache_read,
    }


def openai_usage(claude: Any) -> dict[str, Any]:
    """An OpenAI `usage` object from Anthropic usage (or None)."""
    if not isinstance(claude, dict):
        claude = {}
    cache_read = _int(claude.get("cache_read_input_tokens"))
    cache_creation = _int(claude.get("cache_creation_input_tokens"))
    prompt = _int(claude.get("input_tokens")) + cache_read + cache_creation
    completion = _int(claude.get("output_tokens"))
    details: dict[str, int] = {"cached_tokens": cache_read}
    if cache_creation:
        details["cache_creation_tokens"] = cache_creation
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": details,
    }
