"""Dreamina accounts: image and video generation through a jimeng-api compatible server.

The call goes to the account's own `api_base` (SSRF-guarded like every account-supplied URL) or the
operator's `POOLGATE_JIMENG_API_URL`, with the sessionid in `Authorization` (auth.py). The client's
own key, `Authorization` and `x-api-key` never reach it: the headers are built here from nothing.
The body was mapped and encoded once when the call was read (relay/media_request.py), so each
attempt sends the same bytes.
"""

from __future__ import annotations

from services.proxy_service.formats import ClientFormat
from services.proxy_service.relay.media_request import MediaRequest
from services.proxy_service.relay.request import ClientRequest
from services.proxy_service.upstreams.base import Target, UnsupportedUpstream, UpstreamCall
from services.proxy_service.upstreams.dreamina.auth import authorization
from services.proxy_service.upstreams.dreamina.bridge import JimengBridge
from shared.internal_client import Allocation
from shared.logging import CORRELATION_HEADER

# The client's route → jimeng-api's: OpenAI's edits are jimeng's compositions.
_PATHS = {
    "/v1/images/generations": "/v1/images/generations",
    "/v1/images/edits": "/v1/images/compositions",
    "/v1/images/compositions": "/v1/images/compositions",
    "/v1/videos/generations": "/v1/videos/generations",
}


def api_root(base: str) -> str:
    """A jimeng-api base URL without a trailing `/` or `/v1` (the paths carry `/v1`)."""
    base = base.strip().rstrip("/")
    return base.removesuffix("/v1")


class DreaminaUpstream:
    kind = "dreamina"
    capabilities = ("image", "video")
    formats = ("jimeng",)
    reports_quota = False

    def __init__(self, *, api_url: str, first_byte_timeout_s: float) -> None:
        self._api_root = api_root(api_url)
        self._first_byte_timeout_s = first_byte_timeout_s

    def preferred(self, fmt: ClientFormat) -> tuple[str, ...]:
        return self.formats if fmt.media else ()

    def prepare(
        self,
        allocation: Allocation,
        req: ClientRequest | MediaRequest,
        fmt: ClientFormat,
        *,
        correlation_id: str | None,
    ) -> UpstreamCall:
        if not isinstance(req, MediaRequest) or fmt.route not in _PATHS:
            raise UnsupportedUpstream(f"a Dreamina account cannot serve {fmt.route}")
        own = allocation.upstream.url
        headers = {
            "content-type": req.content_type,
            "accept-encoding": "identity",
            "authorization": authorization(allocation),
        }
        if correlation_id:
            headers[CORRELATION_HEADER] = correlation_id
        root = api_root(own) if own else self._api_root
        target = Target(root + _PATHS[fmt.route], headers, trusted=not own)
        bridge = JimengBridge(fmt.capability, video_seconds=req.video_seconds)
        return UpstreamCall(target, req.body, bridge, first_byte_timeout_s=self._first_byte_timeout_s)
