"""A Kiro account's probe: `ListAvailableModels` on its API region's host with its access token
(kiro.md §2.1): authenticated, and it spends no credits. The URL is a template in settings
(`{api_region}`, `{region}`), like the proxy's chat host."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from services.refresh_worker.probes.result import ProbeResult, error_message, redacted

DEFAULT_API_REGION = "us-east-1"
_SDK = "aws-sdk-js/1.0.27"


def _headers(access_token: str) -> dict[str, str]:
    return {
        "accept": "application/json",
        "authorization": f"Bearer {access_token}",
        "user-agent": f"{_SDK} ua/2.1 os/linux lang/js api/codewhispererruntime#1.0.27 m/E PoolGate",
        "x-amz-user-agent": f"{_SDK} PoolGate",
        "x-amzn-codewhisperer-optout": "true",
        "amz-sdk-invocation-id": str(uuid.uuid4()),
        "amz-sdk-request": "attempt=1; max=1",
    }


async def probe(
    http: httpx.AsyncClient, stored: dict[str, Any], *, url_template: str, timeout_s: float
) -> ProbeResult:
    method = "list_available_models"
    token = stored["secrets"].get("access_token")
    if not token:
        return ProbeResult(ok=False, method=method, detail="no access token yet (waiting for a refresh)")
    region = stored.get("region") or DEFAULT_API_REGION
    api_region = stored.get("chat_region") or DEFAULT_API_REGION
    url = url_template.format(api_region=api_region, region=region)
    params = {"origin": "AI_EDITOR"}
    if profile_arn := stored["settings"].get("profile_arn"):
        params["profileArn"] = profile_arn
    started = time.perf_counter()
    try:
        response = await http.get(url, params=params, headers=_headers(token), timeout=timeout_s)
    except httpx.HTTPError as exc:
        return ProbeResult(ok=False, method=method, detail=f"no answer: {exc.__class__.__name__}")
    latency_ms = round((time.perf_counter() - started) * 1000)
    if response.is_success:
        return ProbeResult(ok=True, method=method, status=response.status_code, latency_ms=latency_ms)
    detail = f"HTTP {response.status_code}: {error_message(response.content)}"
    secrets = (token, stored["secrets"].get("refresh_token"))
    return ProbeResult(
        ok=False,
        method=method,
        status=response.status_code,
        latency_ms=latency_ms,
        detail=redacted(detail, *secrets),
    )
