"""The custom API providers PoolGate knows by name (an account's optional `provider`).

proxy_service keeps what differs for each of them (formats/providers.py: request quirks),
shared/custom_api.py Azure's URLs and `api-key` header; account_service offers the names where a
person types one (the console's add form). Any other name, or none, is a plain OpenAI- or
Claude-format endpoint.
"""

from __future__ import annotations

KNOWN_PROVIDERS = (
    "openai",
    "azure",
    "foundry",
    "deepseek",
    "openrouter",
    "vllm",
    "sglang",
    "ollama",
    "together",
)
