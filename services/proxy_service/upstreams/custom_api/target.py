"""Where and how to call a custom API account (an OpenAI-format or Claude-format endpoint).

Pure functions: the account's `api_base` and credential plus the few client headers that matter
give the URL and the headers. The client's own key (a PoolGate key) is never forwarded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from shared.internal_client import Upstream
from shared.logging import CORRELATION_HEADER

DEFAULT_ANTHROPIC_VERSION = "2023-06-01"


class UnsupportedUpstream(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    headers: dict[str, str]


@lru_cache(maxsize=4096)
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
        raise UnsupportedUpstream(f"custom_api format {fmt!r}")
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def build_target(
    upstream: Upstream,
    *,
    anthropic_version: str | None = None,
    anthropic_beta: str | None = None,
    query: str = "",
    correlation_id: str | None = None,
) -> Target:
    url = endpoint_url(upstream.url, upstream.format)
    # identity: bytes are relayed and scanned for usage as they come, so they must not be compressed.
    if upstream.format == "openai":
        headers = {
            "content-type": "application/json",
            "accept-encoding": "identity",
            "authorization": f"Bearer {upstream.credential}",
        }
    else:
        headers = {
            "content-type": "application/json",
            "accept-encoding": "identity",
            "x-api-key": upstream.credential,
            "anthropic-version": anthropic_version or DEFAULT_ANTHROPIC_VERSION,
        }
        if anthropic_beta:
            headers["anthropic-beta"] = anthropic_beta
        if query:
            url = f"{url}&{query}" if "?" in url else f"{url}?{query}"
    if correlation_id:
        headers[CORRELATION_HEADER] = correlation_id
    return Target(url, headers)
