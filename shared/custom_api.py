"""How a custom API account's key reaches its upstream, and the API versions sent when none is named:
one rule for the proxy's calls (services/proxy_service/upstreams/custom_api.py) and the worker's probes
(services/refresh_worker/probes/custom_api.py), so a probe asks the way traffic will.
"""

from __future__ import annotations

ANTHROPIC_VERSION = "2023-06-01"
AZURE_API_VERSION = "2024-10-21"  # GA; Azure answers 404 to a deployment URL without an api-version


def add_auth_headers(
    headers: dict[str, str], *, fmt: str, azure: bool, key: str, anthropic_version: str | None = None
) -> None:
    """Add the account's `key` to `headers`: a Claude-format endpoint takes `x-api-key` and an
    `anthropic-version` (the client's, else the default); Azure OpenAI `api-key`; any other endpoint a
    bearer token. It fills the caller's dict, so the proxy still builds one dict per request."""
    if fmt == "claude":
        headers["x-api-key"] = key
        headers["anthropic-version"] = anthropic_version or ANTHROPIC_VERSION
    elif azure:
        headers["api-key"] = key
    else:
        headers["authorization"] = f"Bearer {key}"
