"""A custom API account's probe: its models listing (OpenAI `GET …/models`, Anthropic
`GET /v1/models`), which costs no tokens; only when the upstream has none (404 or 405) a chat call
with `max_tokens: 1`. The key goes in the headers the proxy sends it in (shared/custom_api.py); the
URLs are this module's reading of the proxy's (services/proxy_service/upstreams/custom_api.py), with the
models listing beside the chat endpoint."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from services.refresh_worker.probes.result import ProbeResult, error_message, redacted
from shared.custom_api import AZURE_API_VERSION, add_auth_headers

_NO_LISTING = (404, 405)
_ENDPOINTS = ("/chat/completions", "/messages", "/models")


def _base_path(api_base: str) -> tuple[Any, str]:
    parts = urlsplit(api_base.strip())
    path = parts.path.rstrip("/")
    for endpoint in _ENDPOINTS:  # a base that names an endpoint: its API root
        if path.endswith(endpoint):
            path = path[: -len(endpoint)]
    return parts, path


def _urls(api_base: str, fmt: str, provider: str | None, model: str | None) -> tuple[str, str]:
    """(models listing, chat endpoint) for the account."""
    parts, path = _base_path(api_base)
    origin = (parts.scheme, parts.netloc)
    if provider == "azure" and fmt == "openai":
        version = parts.query if "api-version=" in parts.query else f"api-version={AZURE_API_VERSION}"
        if path.endswith("/openai/v1"):
            return urlunsplit((*origin, f"{path}/models", "", "")), urlunsplit(
                (*origin, f"{path}/chat/completions", "", "")
            )
        resource = path.split("/openai/", 1)[0]
        deployment = path if "/openai/deployments/" in path else f"{resource}/openai/deployments/{model}"
        return (
            urlunsplit((*origin, f"{resource}/openai/models", version, "")),
            urlunsplit((*origin, f"{deployment}/chat/completions", version, "")),
        )
    if fmt == "claude":
        root = path if path.endswith("/v1") else f"{path}/v1"
        models, chat = f"{root}/models", f"{root}/messages"
    else:
        root = path or "/v1"
        models, chat = f"{root}/models", f"{root}/chat/completions"
    return urlunsplit((*origin, models, parts.query, "")), urlunsplit((*origin, chat, parts.query, ""))


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
    fmt, provider = settings.get("format") or "openai", (settings.get("provider") or "").lower() or None
    model = _model(settings)
    models_url, chat_url = _urls(settings["api_base"], fmt, provider, model)
    headers = {"accept": "application/json"}
    add_auth_headers(headers, fmt=fmt, azure=provider == "azure", key=key)
    listed = await _call(http, "GET", models_url, headers, None, key, method="models", timeout_s=timeout_s)
    if listed.status not in _NO_LISTING:
        return listed
    if not model and not (provider == "azure" and "/openai/deployments/" in settings["api_base"]):
        return ProbeResult(
            ok=False,
            method="models",
            status=listed.status,
            latency_ms=listed.latency_ms,
            detail="no models listing, and the account names no model for a 1-token call",
        )
    headers["content-type"] = "application/json"
    return await _call(
        http,
        "POST",
        chat_url,
        headers,
        _chat_body(fmt, model or "probe"),
        key,
        method="max_tokens_1",
        timeout_s=timeout_s,
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
