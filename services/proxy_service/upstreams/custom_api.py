"""Custom API accounts: any OpenAI-format or Claude-format endpoint, passed through or converted.

Where and how to call one is a pure function of the account's `api_base` and credential plus the
few client headers that matter. The client's own key (a PoolGate key) is never forwarded.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from services.proxy_service.formats import ClientFormat, bridge_for
from services.proxy_service.relay.request import ClientRequest
from services.proxy_service.upstreams.base import Target, UnsupportedUpstream, UpstreamCall
from shared.custom_api import AZURE_API_VERSION, add_auth_headers
from shared.internal_client import Allocation, Upstream
from shared.logging import CORRELATION_HEADER


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


@lru_cache(maxsize=4096)
def azure_url(api_base: str, deployment: str | None) -> str:
    """Azure OpenAI: `{resource}/openai/deployments/{deployment}/chat/completions?api-version=…`.

    The base may name the deployment (`…/openai/deployments/gpt-4o`), be the newer v1 API
    (`…/openai/v1`, no api-version), or be the bare resource, when the account's model override names
    the deployment. An `api-version` in the base is kept; otherwise a GA default is added (Azure
    answers 404 without one)."""
    parts = urlsplit(api_base.strip())
    path = parts.path.rstrip("/")
    query = parts.query
    if path.endswith("/openai/v1"):
        return urlunsplit((parts.scheme, parts.netloc, f"{path}/chat/completions", query, ""))
    if "/openai/deployments/" not in path:
        if not deployment:
            raise UnsupportedUpstream(
                "an Azure account needs the deployment in api_base or as its model override"
            )
        path = f"{path}/openai/deployments/{deployment}"
    if not path.endswith("/chat/completions"):
        path = f"{path}/chat/completions"
    if "api-version=" not in query:
        query = f"{query}&api-version={AZURE_API_VERSION}" if query else f"api-version={AZURE_API_VERSION}"
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


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
    if fmt == "openai" and azure:
        url = azure_url(upstream.url, upstream.model)
    else:
        url = endpoint_url(upstream.url, fmt)  # refuses a format other than openai and claude
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
