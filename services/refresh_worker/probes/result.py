"""What a probe found, and the short, secret-free detail it is reported with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

DETAIL_LIMIT = 200
# Anything that looks like a key or token: `sk-…`-style keys, and long unbroken runs of token
# characters with digits and letters mixed (a setting's NAME_IN_CAPITALS is left alone).
_KEYISH = re.compile(r"\b(?:sk|pk|rk|key|tok)[-_][A-Za-z0-9_\-]{6,}")
_LONG_RUN = re.compile(r"[A-Za-z0-9+/=_\-]{24,}")


def _tokenish(run: re.Match[str]) -> str:
    text = run[0]
    mixed = any(c.isdigit() for c in text) and any(c.isalpha() for c in text)
    return "****" if mixed else text


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    method: str  # models, max_tokens_1, list_available_models, liveness
    status: int | None = None
    latency_ms: int | None = None
    detail: str | None = None


def redacted(text: str, *secrets: str | None) -> str:
    """`text` cut short, with the account's own secrets and anything token-like masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "****")
    text = _LONG_RUN.sub(_tokenish, _KEYISH.sub("****", " ".join(text.split())))
    return text[: DETAIL_LIMIT - 1] + "…" if len(text) > DETAIL_LIMIT else text


def error_message(body: bytes) -> str:
    """The upstream's own error message from an error answer (OpenAI, Anthropic and Kiro shapes)."""
    try:
        parsed: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:DETAIL_LIMIT].decode("utf-8", "replace")
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        if isinstance(error, str):
            return error
        if isinstance(parsed.get("message"), str):
            return parsed["message"]
    return body[:DETAIL_LIMIT].decode("utf-8", "replace")
