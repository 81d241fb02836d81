"""Kiro accounts (AWS CodeWhisperer / Amazon Q): the upstream that answers in AWS event-stream frames."""

from __future__ import annotations

from services.proxy_service.formats import ClientFormat
from services.proxy_service.relay.request import ClientRequest
from services.proxy_service.upstreams.base import UpstreamCall
from services.proxy_service.upstreams.kiro.bridge import KiroBridge
from services.proxy_service.upstreams.kiro.target import DEFAULT_CHAT_URL, build_target
from shared.internal_client import Allocation


class KiroUpstream:
    kind = "kiro"
    capabilities = ("chat",)
    formats = ("kiro",)
    reports_quota = False

    def __init__(self, *, chat_url: str = DEFAULT_CHAT_URL) -> None:
        self._chat_url = chat_url  # a template: `{api_region}` and `{region}`

    def preferred(self, fmt: ClientFormat) -> tuple[str, ...]:
        return self.formats  # the pool's native Claude accounts, converted for either API

    def prepare(
        self, allocation: Allocation, req: ClientRequest, fmt: ClientFormat, *, correlation_id: str | None
    ) -> UpstreamCall:
        upstream = allocation.upstream
        bridge = KiroBridge(fmt, req.model, profile_arn=upstream.profile_arn)
        target = build_target(upstream, chat_url_template=self._chat_url, correlation_id=correlation_id)
        return UpstreamCall(target, bridge.request_body(req.raw, req.body), bridge)
