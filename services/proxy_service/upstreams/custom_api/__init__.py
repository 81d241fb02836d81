"""Custom API accounts: any OpenAI-format or Claude-format endpoint, passed through or converted."""

from __future__ import annotations

from services.proxy_service.formats import ClientFormat, bridge_for
from services.proxy_service.relay.request import ClientRequest
from services.proxy_service.upstreams.base import UpstreamCall
from services.proxy_service.upstreams.custom_api.target import build_target
from shared.internal_client import Allocation


class CustomApiUpstream:
    kind = "custom_api"
    formats = ("openai", "claude")

    def preferred(self, fmt: ClientFormat) -> tuple[str, ...]:
        return (fmt.name,) if fmt.name in self.formats else ()

    def prepare(
        self, allocation: Allocation, req: ClientRequest, fmt: ClientFormat, *, correlation_id: str | None
    ) -> UpstreamCall:
        upstream = allocation.upstream
        bridge = bridge_for(
            fmt,
            upstream.format,
            client_model=req.model,
            upstream_model=upstream.model,
            provider=upstream.provider,
        )
        target = build_target(
            upstream,
            anthropic_version=req.anthropic_version,
            anthropic_beta=req.anthropic_beta,
            query=req.query,
            correlation_id=correlation_id,
        )
        return UpstreamCall(target, bridge.request_body(req.raw, req.body), bridge)
