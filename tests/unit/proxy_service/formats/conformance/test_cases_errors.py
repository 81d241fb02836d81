"""conversion.md §7 cases 47–49: upstream errors in the client's format, status kept.

Case 50 (429 retries with back-off and a 300 s cool-down) is the attempt loop's failover policy,
not a conversion; it is tested with the relay, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import pytest

from services.proxy_service.formats import CLAUDE, OPENAI, bridge_for
from services.proxy_service.formats.errors import claude_error_body, openai_error_body
from services.proxy_service.relay.outcome import Failure


def test_case_47_a_429_reaches_a_claude_client_as_a_rate_limit_error_with_retry_after() -> None:
    bridge = bridge_for(CLAUDE, "openai", client_model="claude-sonnet-4", upstream_model="gpt-4o")
    failure = Failure(
        status=429,
        body=b'{"error":{"message":"slow down","type":"rate_limit_error"}}',
        content_type=b"application/json",
        retry_after="7",
        bridge=bridge,
    )
    response = failure.response(CLAUDE)
    assert response.status_code == 429
    assert orjson.loads(response.body) == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
    }
    headers = dict(response.raw_headers)
    assert headers[b"retry-after"] == b"7"
    assert headers[b"content-type"] == b"application/json"


@dataclass
class Case:
    id: str
    status: int
    body: bytes
    error_type: str
    message: str


CASES = [
    Case("48-401-plain-text", 401, b"Unauthorized", "authentication_error", "Unauthorized"),
    Case("48-403", 403, b'{"error":{"message":"no"}}', "permission_error", "no"),
    Case(
        "48-404",
        404,
        b'{"error":{"message":"no such model","code":"model_not_found"}}',
        "not_found_error",
        "no such model",
    ),
    Case("48-413", 413, b"<html>too big</html>", "request_too_large", "<html>too big</html>"),
    Case("48-503", 503, b'{"error":{"message":"busy"}}', "overloaded_error", "busy"),
    Case("48-500", 500, b'{"error":{"message":"oops","type":"server_error"}}', "api_error", "oops"),
    Case("48-502", 502, b"Bad Gateway", "api_error", "Bad Gateway"),
    Case("48-504", 504, b"", "api_error", "upstream answered HTTP 504"),
    Case("48-422", 422, b'{"detail":"bad field"}', "invalid_request_error", "bad field"),
    Case(
        "49",
        400,
        b'{"error":{"message":"This model\'s maximum context length is 128000 tokens.",'
        b'"type":"invalid_request_error","code":"context_length_exceeded"}}',
        "invalid_request_error",
        "prompt is too long: This model's maximum context length is 128000 tokens.",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"case-{c.id}" for c in CASES])
def test_openai_upstream_error_becomes_the_claude_error_of_its_status(case: Case) -> None:
    assert orjson.loads(claude_error_body(case.status, case.body)) == {
        "type": "error",
        "error": {"type": case.error_type, "message": case.message},
    }


def test_case_48_a_plain_text_error_is_sent_as_json() -> None:
    bridge = bridge_for(CLAUDE, "openai", client_model="m", upstream_model=None)
    failure = Failure(status=401, body=b"Unauthorized", content_type=b"text/plain", bridge=bridge)
    response = failure.response(CLAUDE)
    assert (response.status_code, dict(response.raw_headers)[b"content-type"]) == (401, b"application/json")


REVERSE = [
    (
        "rate-limit",
        429,
        b'{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}',
        {"message": "slow", "type": "rate_limit_error", "param": None, "code": None},
    ),
    (
        "overloaded",
        529,
        b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
        {"message": "Overloaded", "type": "server_error", "param": None, "code": None},
    ),
    (
        "too-long",
        400,
        b'{"type":"error","error":{"type":"invalid_request_error",'
        b'"message":"prompt is too long: 210000 tokens"}}',
        {
            "message": "prompt is too long: 210000 tokens",
            "type": "invalid_request_error",
            "param": None,
            "code": "context_length_exceeded",
        },
    ),
    (
        "plain-text",
        401,
        b"invalid x-api-key",
        {"message": "invalid x-api-key", "type": "authentication_error", "param": None, "code": None},
    ),
]


@pytest.mark.parametrize(("label", "status", "body", "expected"), REVERSE, ids=[r[0] for r in REVERSE])
def test_claude_upstream_error_becomes_an_openai_error(
    label: str, status: int, body: bytes, expected: dict
) -> None:
    assert orjson.loads(openai_error_body(status, body)) == {"error": expected}
    bridge = bridge_for(OPENAI, "claude", client_model="gpt-4o", upstream_model="claude-sonnet-4")
    response = Failure(status=status, body=body, content_type=b"application/json", bridge=bridge).response(
        OPENAI
    )
    assert (response.status_code, orjson.loads(response.body)) == (status, {"error": expected})
