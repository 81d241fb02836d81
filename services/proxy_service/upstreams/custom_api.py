"""Custom API accounts: any OpenAI-format or Claude-format endpoint, passed through or converted.

Where and how to call one is a pure function of the account's `api_base` and credential plus the
few client headers that matter (the URL and key rules are shared/custom_api.py's, which the worker's
probe follows too). The client's own key (a PoolGate key) is never forwarded.
"""

from __future__ import annotations

from services.proxy_service.formats import ClientFormat, bridge_for
from services.proxy_service.relay.request import ClientRequest
from services.proxy_service.upstreams.base import Target, UnsupportedUpstream, UpstreamCall
from shared.custom_api import UnusableEndpoint, add_auth_headers, chat_url
from shared.internal_client import Allocation, Upstream
from shared.logging import CORRELATION_HEADER


def build_target(
    upstream: Upstream,
    *,
    anthropic_version: str | None = None,
    anthropic_beta: str | None = None,
    query: str = "",
    correlation_id: str | None = None,
) -> Target:
    fmt = upstream.format
    azure = upstream.provider == "azure"
    try:
        url = chat_url(upstream.url, fmt, azure, upstream.model)
    except UnusableEndpoint as exc:
        raise UnsupportedUpstream(str(exc)) from exc
    # identity: bytes are relayed and scanned for usage as they come, so they must not be compressed.
    headers = {"content-type": "application/json", "accept-encoding": "identity"}
    add_auth_headers(
        headers, fmt=fmt, azure=azure, key=upstream.credential, anthropic_version=anthropic_version
    )
    if fmt == "claude":
        # Claude on Azure (Foundry) rejects beta headers it does not know; other upstreams get them.
        if anthropic_beta and not azure:
            headers["anthropic-beta"] = anthropic_beta
        if query:
            url = f"{url}&{query}" if "?" in url else f"{url}?{query}"
    if correlation_id:
        headers[CORRELATION_HEADER] = correlation_id
    return Target(url, headers, egress=upstream.proxy)


class CustomApiUpstream:
    kind = "custom_api"
    capabilities = ("chat",)
    formats = ("openai", "claude")
    reports_quota = True

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
