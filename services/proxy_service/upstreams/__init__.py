"""Upstream kinds. Each one turns an allocation into a `Target` (URL and headers) to call.

Only custom API accounts are served so far; Kiro and Dreamina join here with their own packages.
"""

from __future__ import annotations

from services.proxy_service.upstreams.custom_api import target as custom_api
from services.proxy_service.upstreams.custom_api.target import Target, UnsupportedUpstream
from shared.internal_client import Allocation

__all__ = ["Target", "UnsupportedUpstream", "build_target"]


def build_target(
    allocation: Allocation,
    *,
    anthropic_version: str | None,
    anthropic_beta: str | None,
    query: str,
    correlation_id: str | None,
) -> Target:
    if allocation.account_kind == "custom_api":
        return custom_api.build_target(
            allocation.upstream,
            anthropic_version=anthropic_version,
            anthropic_beta=anthropic_beta,
            query=query,
            correlation_id=correlation_id,
        )
    raise UnsupportedUpstream(f"account kind {allocation.account_kind!r}")
