"""Upstream kinds. Each one turns an allocation into a bridge (the formats on both sides) and a
`Target` (URL and headers) to call.

Custom API accounts speak OpenAI or Anthropic; Kiro accounts speak Kiro's own protocol through
`KiroBridge`. Dreamina joins here with its own package.
"""

from __future__ import annotations

from services.proxy_service.formats import Bridge, ClientFormat, bridge_for
from services.proxy_service.upstreams.custom_api import target as custom_api
from services.proxy_service.upstreams.custom_api.target import Target, UnsupportedUpstream
from services.proxy_service.upstreams.kiro import target as kiro
from services.proxy_service.upstreams.kiro.bridge import KiroBridge
from shared.internal_client import Allocation

__all__ = ["UPSTREAM_FORMATS", "Target", "UnsupportedUpstream", "build_bridge", "build_target"]

# Account formats a client of either API can be served by.
UPSTREAM_FORMATS = ("openai", "claude", "kiro")


def build_bridge(fmt: ClientFormat, allocation: Allocation, *, client_model: str) -> Bridge:
    upstream = allocation.upstream
    if allocation.account_kind == "kiro":
        return KiroBridge(fmt, client_model, profile_arn=upstream.profile_arn)
    return bridge_for(
        fmt,
        upstream.format,
        client_model=client_model,
        upstream_model=upstream.model,
        provider=upstream.provider,
    )


def build_target(
    allocation: Allocation,
    *,
    anthropic_version: str | None,
    anthropic_beta: str | None,
    query: str,
    correlation_id: str | None,
    kiro_chat_url: str = kiro.DEFAULT_CHAT_URL,
) -> Target:
    if allocation.account_kind == "custom_api":
        return custom_api.build_target(
            allocation.upstream,
            anthropic_version=anthropic_version,
            anthropic_beta=anthropic_beta,
            query=query,
            correlation_id=correlation_id,
        )
    if allocation.account_kind == "kiro":
        return kiro.build_target(
            allocation.upstream, chat_url_template=kiro_chat_url, correlation_id=correlation_id
        )
    raise UnsupportedUpstream(f"account kind {allocation.account_kind!r}")
