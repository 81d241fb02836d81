"""The part of an upstream error body that may travel in `usage.recorded` and be shown to people:
at most 512 characters, with tokens, keys, secrets and email addresses replaced by `[redacted]`.

Error bodies echo what they were sent surprisingly often (an `Authorization` header, an API key in a
"key sk-... is invalid" message, the account's email). Redaction runs before the cut, on the first
few KiB, so a secret cut in half at the limit is never half shown. Error rules match this excerpt.
"""

from __future__ import annotations

import re

MAX_LENGTH = 512
_READ = 4096  # of the body: enough for any error message, bounded work for a huge HTML page
REDACTED = "[redacted]"

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # `"api_key": "..."`, `token=...`, `Authorization: Bearer ...`: keep the name, hide the value.
    (
        re.compile(
            r"(?i)(\"?\b(?:authorization|x-api-key|api[_-]?key|access[_-]?token|refresh[_-]?token|id[_-]?token"
            r"|token|secret|client[_-]?secret|password|passwd|sessionid|session[_-]?id|cookie)\b\"?\s*[:=]\s*\"?)"
            r"(?:bearer\s+)?[^\"\s,;&}]+"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?i)\bbearer\s+[\w.~+/=-]+"), "Bearer " + REDACTED),
    (re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*"), REDACTED),  # JWTs
    (re.compile(r"\b(?:sk|pk|rk|ak)-[\w-]{8,}"), REDACTED),  # OpenAI/Anthropic-style keys
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),  # AWS access key ids
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), REDACTED),  # email addresses
    (re.compile(r"\b[A-Za-z0-9_\-+/]{32,}={0,2}"), REDACTED),  # long random-looking tokens
)
_SPACE = re.compile(r"\s+")


def redact(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def error_excerpt(body: bytes | str | None) -> str | None:
    """The redacted excerpt of an error body (None for an empty one)."""
    if not body:
        return None
    text = body[:_READ].decode("utf-8", "replace") if isinstance(body, bytes) else body[:_READ]
    text = _SPACE.sub(" ", redact(text)).strip()
    return text[:MAX_LENGTH] or None
