"""A custom API account's probe: its models listing (OpenAI `GET …/models`, Anthropic
`GET /v1/models`), which costs no tokens; only when the upstream has none (404 or 405) a chat call
with `max_tokens: 1`. The chat call goes where the proxy's go, with the key in the headers the proxy
sends it in (both shared/custom_api.py); the models listing is beside the chat endpoint."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from services.refresh_worker.probes.result import ProbeResult, error_message, redacted
from shared.custom_api import UnusableEndpoint, add_auth_headers, chat_url, endpoint_url, with_api_version

_NO_LISTING = (404, 405)


def _models_url(api_base: str, fmt: str, azure: bool) -> str:
    """The models listing: an Azure resource's own (a deployment's chat URL is beneath it), any other
    endpoint's in place of its chat endpoint."""
    if azure and fmt == "openai":
        parts = urlsplit(api_base.strip())
        path = parts.path.rstrip("/")
        if not path.endswith("/openai/v1"):
            resource = path.split("/openai/", 1)[0].removesuffix("/openai")
            query = with_api_version(parts.query)
            return urlunsplit((parts.scheme, parts.netloc, f"{resource}/openai/models", query, ""))
    chat = urlsplit(endpoint_url(api_base, fmt))
    root = chat.path.removesuffix("/chat/completions" if fmt == "openai" else "/messages")
    return urlunsplit((chat.scheme, chat.netloc, f"{root}/models", chat.query, ""))


def _model(settings: dict[str, Any]) -> str | None:
    models = settings.get("models") or []
    return settings.get("model_override") or (models[0] if models else None)


def _chat_body(fmt: str, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}
    if fmt == "openai":
        body["stream"] = False
    return body


async def probe(http: httpx.AsyncClient, stored: dict[str, Any], *, timeout_s: float) -> ProbeResult:
    settings, key = stored["settings"], stored["secrets"].get("api_key") or ""
    api_base, fmt = settings["api_base"], settings.get("format") or "openai"
    azure = (settings.get("provider") or "").lower() == "azure"
    headers = {"accept": "application/json"}
    add_auth_headers(headers, fmt=fmt, azure=azure, key=key)
    listed = await _call(
        http,
        "GET",
        _models_url(api_base, fmt, azure),
        headers,
        None,
        key,
        method="models",
        timeout_s=timeout_s,
    )
    if listed.status not in _NO_LISTING:
        return listed
    model = _model(settings)
    try:
        url = chat_url(api_base, fmt, azure, settings.get("model_override"))
    except UnusableEndpoint as exc:
        return _no_chat(listed, str(exc))
    if not model and not (azure and "/openai/deployments/" in api_base):
        return _no_chat(listed, "no models listing, and the account names no model for a 1-token call")
    headers["content-type"] = "application/json"
    return await _call(
        http,
        "POST",
        url,
        headers,
        _chat_body(fmt, model or "probe"),
        key,
        method="max_tokens_1",
        timeout_s=timeout_s,
    )


def _no_chat(listed: ProbeResult, detail: str) -> ProbeResult:
    return ProbeResult(
        ok=False, method="models", status=listed.status, latency_ms=listed.latency_ms, detail=detail
    )


async def _call(
    http: httpx.AsyncClient,
    verb: str,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any] | None,
    key: str,
    *,
    method: str,
    timeout_s: float,
) -> ProbeResult:
    started = time.perf_counter()
    try:
        response = await http.request(verb, url, headers=headers, json=body, timeout=timeout_s)
    except httpx.HTTPError as exc:
        reason = f"no answer: {exc.__class__.__name__}" + (f": {exc}" if str(exc) else "")
        return ProbeResult(ok=False, method=method, detail=redacted(reason, key))
    latency_ms = round((time.perf_counter() - started) * 1000)
    if response.is_success:
        return ProbeResult(ok=True, method=method, status=response.status_code, latency_ms=latency_ms)
    return ProbeResult(
        ok=False,
        method=method,
        status=response.status_code,
        latency_ms=latency_ms,
        detail=redacted(f"HTTP {response.status_code}: {error_message(response.content)}", key),
    )
