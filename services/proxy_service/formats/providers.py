"""What differs between upstreams of the same format, as far as bodies go (conversion.md §4).

URLs and headers (Azure deployments, `api-key`) belong to `upstreams/` and shared/custom_api.py; this
is only what the converters must write or read differently. An unknown or missing provider is a plain
OpenAI- or Anthropic-compatible endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    # DeepSeek thinking mode: assistant turns with tool calls must carry their `reasoning_content`
    # back (an empty string when there was none), and `thinking: {"type": ...}` switches it.
    reasoning_replay: bool = False
    thinking_switch: bool = False
    # OpenRouter: `reasoning: {"max_tokens" | "effort" | "enabled"}` instead of `reasoning_effort`.
    openrouter_reasoning: bool = False
    # Accepts `top_k` (OpenAI proper answers 400 to an unknown parameter).
    top_k: bool = False
    # Accepts `{"type": "file"}` content parts (PDF documents).
    file_parts: bool = False
    # Accepts `stream_options.include_usage`.
    stream_usage: bool = True
    # Microsoft Foundry (Claude format): drops the fields it rejects.
    foundry: bool = False


GENERIC = Provider("generic")

# Keyed by the names in shared/providers.py (the console offers those; a unit test keeps them in step).
_PROVIDERS = {
    "openai": Provider("openai", file_parts=True),
    "azure": Provider("azure", file_parts=True, foundry=True),
    "foundry": Provider("foundry", foundry=True),
    "deepseek": Provider("deepseek", reasoning_replay=True, thinking_switch=True),
    "openrouter": Provider("openrouter", openrouter_reasoning=True, top_k=True, file_parts=True),
    "vllm": Provider("vllm", top_k=True),
    "sglang": Provider("sglang", top_k=True),
    "ollama": Provider("ollama", top_k=True),
    "together": Provider("together", top_k=True),
}


def provider_for(name: str | None) -> Provider:
    return _PROVIDERS.get((name or "").strip().lower(), GENERIC)
