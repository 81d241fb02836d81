"""jimeng-api's failures: HTTP 200 with `{code, message, data: null}` (reference/dreamina.md §8.2), and
what each code means for the account and for the client.

* `-2002`, the sessionid is dead: credential_rejected (the worker revalidates it), another account;
  502 when none is left.
* `-2009`, or `-2001` with `错误码: 1006`, out of credits: exhausted until the next daily reset,
  another account; 429 insufficient_quota when none is left.
* `-1000`, `-2000`, `-2003`, `-2004`, `-2006`, the request itself (params, model, file, content):
  client_error, the client's 400 with the upstream's message.
* `-2007`, `-2008`, any other (a generation that failed): upstream_error, another account; 502.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

TOKEN_EXPIRED = -2002
NO_CREDITS = -2009
FAILED = -2001
CLIENT_FAULTS = frozenset({-1000, -2000, -2003, -2004, -2006})
# Dreamina's ret 1006 "Not enough credits left", which jimeng-api wraps in a generic -2001.
_CREDITS_GONE = re.compile(r"错误码[:：]\s*1006(?!\d)")


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: str
    retryable: bool
    status: int  # the client's, if no other account takes the call
    error_type: str  # OpenAI's error `type`
    error_code: str | None


_REJECTED = Verdict("credential_rejected", True, 502, "upstream_error", "upstream_credential_rejected")
_EXHAUSTED = Verdict("exhausted", True, 429, "insufficient_quota", "insufficient_quota")
_CLIENT = Verdict("client_error", False, 400, "invalid_request_error", None)
_FAILED = Verdict("upstream_error", True, 502, "upstream_error", "generation_failed")


def classify(code: int, message: str) -> Verdict:
    if code == TOKEN_EXPIRED:
        return _REJECTED
    if code == NO_CREDITS or (code == FAILED and _CREDITS_GONE.search(message)):
        return _EXHAUSTED
    if code in CLIENT_FAULTS:
        return _CLIENT
    return _FAILED


def read(raw: bytes) -> tuple[int, str] | None:
    """(code, message) of a failure envelope; None for anything else (a success has no `code`)."""
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if not isinstance(code, int) or isinstance(code, bool) or code == 0:
        return None
    message = body.get("message")
    return code, message if isinstance(message, str) else ""


def openai_error(code: int, message: str) -> bytes:
    verdict = classify(code, message)
    text = message[:1000] or f"jimeng-api failed with code {code}"
    error = {"message": text, "type": verdict.error_type, "param": None, "code": verdict.error_code}
    return orjson.dumps({"error": error})
