"""Where and how to call a Kiro account: its API region's chat host, with the headers Kiro's own
clients send (kiro.md §2.1–2.2). The host is a URL template in settings (`{api_region}`, and
`{region}` for deployments that tie the chat host to the token's region)."""

from __future__ import annotations

import uuid
from functools import lru_cache

from services.proxy_service.upstreams.base import Target
from shared.internal_client import Upstream
from shared.logging import CORRELATION_HEADER

DEFAULT_CHAT_URL = "https://q.{api_region}.amazonaws.com/generateAssistantResponse"
DEFAULT_API_REGION = "us-east-1"
_SDK = "aws-sdk-js/1.0.27"
_USER_AGENT = (
    f"{_SDK} ua/2.1 os/linux lang/js md/nodejs#22.21.1 api/codewhispererstreaming#1.0.27 m/E PoolGate"
)


@lru_cache(maxsize=64)
def chat_url(template: str, api_region: str, region: str) -> str:
    return template.format(api_region=api_region, region=region)


def build_target(upstream: Upstream, *, chat_url_template: str, correlation_id: str | None) -> Target:
    region = upstream.region or DEFAULT_API_REGION
    headers = {
        "content-type": "application/json",
        "accept": "application/vnd.amazon.eventstream",
        "accept-encoding": "identity",
        "authorization": f"Bearer {upstream.credential}",
        "user-agent": _USER_AGENT,
        "x-amz-user-agent": f"{_SDK} PoolGate",
        "x-amzn-codewhisperer-optout": "true",
        "x-amzn-kiro-agent-mode": "vibe",
        "amz-sdk-invocation-id": str(uuid.uuid4()),
        "amz-sdk-request": "attempt=1; max=1",
    }
    if correlation_id:
        headers[CORRELATION_HEADER] = correlation_id
    url = chat_url(chat_url_template, upstream.api_region or DEFAULT_API_REGION, region)
    return Target(url, headers, egress=upstream.proxy)
