"""How a custom API account is called: the chat URL its `api_base` names, how its key reaches the
upstream, and the API versions sent when none is named. One rule for the proxy's calls
(services/proxy_service/upstreams/custom_api.py) and the worker's probes
(services/refresh_worker/probes/custom_api.py), so a probe asks where and the way traffic will.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

ANTHROPIC_VERSION = "2023-06-01"
AZURE_API_VERSION = "2024-10-21"  # GA; Azure answers 404 to a deployment URL without an api-version


class UnusableEndpoint(ValueError):
    """The account's settings name no endpoint PoolGate can call."""


@lru_cache(maxsize=4096)
def chat_url(api_base: str, fmt: str, azure: bool, deployment: str | None) -> str:
    """Where a chat call goes: Azure OpenAI's (`azure_url`) or any other endpoint's (`endpoint_url`).
    Cached: the proxy asks on every call."""
    if fmt == "openai" and azure:
        return azure_url(api_base, deployment)
    return endpoint_url(api_base, fmt)


def endpoint_url(api_base: str, fmt: str) -> str:
    """`openai`: `{api_base}/chat/completions` (`/v1/...` when the base has no path);
    `claude`: `{api_base}/messages` when the base ends in `/v1`, else `{api_base}/v1/messages`.
    A base that already names the endpoint is used as it is."""
    parts = urlsplit(api_base.strip())
    path = parts.path.rstrip("/")
    if fmt == "openai":
        if not path.endswith("/chat/completions"):
            path = f"{path}/chat/completions" if path else "/v1/chat/completions"
    elif fmt == "claude":
        if not path.endswith("/messages"):
            path = f"{path}/messages" if path.endswith("/v1") else f"{path}/v1/messages"
    else:
        raise UnusableEndpoint(f"custom_api format {fmt!r}")
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def azure_url(api_base: str, deployment: str | None) -> str:
    """Azure OpenAI: `{resource}/openai/deployments/{deployment}/chat/completions?api-version=…`.

    The base may name the deployment (`…/openai/deployments/gpt-4o`), be the newer v1 API
    (`…/openai/v1`, no api-version), or be the bare resource (with or without the `/openai` that
    Azure's portal shows after it), when the account's model override names the deployment. An
    `api-version` in the base is kept; otherwise a GA default is added (Azure answers 404 without
    one)."""
    parts = urlsplit(api_base.strip())
    path = parts.path.rstrip("/")
    if path.endswith("/openai/v1"):
        return urlunsplit((parts.scheme, parts.netloc, f"{path}/chat/completions", parts.query, ""))
    if "/openai/deployments/" not in path:
        if not deployment:
            raise UnusableEndpoint(
                "an Azure account needs the deployment in api_base or as its model override"
            )
        path = f"{path.removesuffix('/openai')}/openai/deployments/{deployment}"
    if not path.endswith("/chat/completions"):
        path = f"{path}/chat/completions"
    return urlunsplit((parts.scheme, parts.netloc, path, with_api_version(parts.query), ""))


def with_api_version(query: str) -> str:
    """`query` with Azure's default `api-version` added unless it names one."""
    if "api-version=" in query:
        return query
    return f"{query}&api-version={AZURE_API_VERSION}" if query else f"api-version={AZURE_API_VERSION}"


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
