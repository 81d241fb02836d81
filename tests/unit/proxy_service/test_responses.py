from __future__ import annotations

import orjson
import pytest

from services.proxy_service.responses import RawResponse, error_response, style_for_path
from shared.errors import Forbidden, InvalidRequest, NoAccountAvailable, Unauthenticated


@pytest.mark.parametrize(
    ("path", "style"),
    [
        ("/v1/messages", "anthropic"),
        ("/v1/messages/count_tokens", "anthropic"),
        ("/v1/chat/completions", "openai"),
        ("/v1/models", "openai"),
        ("/healthz", "plain"),
    ],
)
def test_error_style_follows_the_route(path: str, style: str) -> None:
    assert style_for_path(path) == style


def test_no_account_is_a_503_with_reason_and_retry_after_in_openai_shape() -> None:
    response = error_response(NoAccountAvailable("no account serves gpt-9", retry_after=7.4), "openai")
    assert response.status_code == 503
    headers = dict(response.raw_headers)
    assert headers[b"retry-after"] == b"7"
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(response.body)
    assert orjson.loads(response.body) == {
        "error": {
            "message": "no account serves gpt-9",
            "type": "service_unavailable",
            "param": None,
            "code": "no_account_available",
        }
    }


def test_no_account_in_anthropic_shape_is_overloaded() -> None:
    response = error_response(NoAccountAvailable("no account"), "anthropic")
    assert orjson.loads(response.body) == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "no account"},
    }
    assert b"retry-after" not in dict(response.raw_headers)


@pytest.mark.parametrize(
    ("err", "status", "openai_type"),
    [
        (Unauthenticated("bad key"), 401, "authentication_error"),
        (Forbidden("key disabled"), 403, "permission_error"),
        (InvalidRequest("`model` is required", param="model"), 400, "invalid_request_error"),
    ],
)
def test_allocation_refusals_render_in_both_formats(err, status: int, openai_type: str) -> None:
    openai = error_response(err, "openai")
    anthropic = error_response(err, "anthropic")
    assert openai.status_code == anthropic.status_code == status
    assert orjson.loads(openai.body)["error"]["type"] == openai_type
    assert orjson.loads(openai.body)["error"]["param"] == err.param
    assert orjson.loads(anthropic.body)["error"]["type"] == openai_type
    assert orjson.loads(anthropic.body)["type"] == "error"


def test_raw_response_sets_content_length() -> None:
    response = RawResponse(b"abc", 200, [(b"content-type", b"text/plain")])
    assert (b"content-length", b"3") in response.raw_headers
