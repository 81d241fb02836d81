from __future__ import annotations

import pytest
from starlette.requests import Request

from services.proxy_service.formats import CLAUDE, OPENAI
from services.proxy_service.relay.request import ClientRequest, parse_body, read_client_request, read_headers
from services.proxy_service.relay.session import session_of
from shared.errors import InvalidRequest


def test_bearer_key_is_read_case_insensitively() -> None:
    assert read_headers([(b"authorization", b"bearer pg-abc")]) == ("pg-abc", None, None, None)
    assert read_headers([(b"authorization", b"Bearer  pg-abc ")])[0] == "pg-abc"


def test_x_api_key_is_read_with_anthropic_headers() -> None:
    headers = [
        (b"x-api-key", b"pg-xyz"),
        (b"anthropic-version", b"2023-06-01"),
        (b"anthropic-beta", b"a"),
        (b"anthropic-beta", b"b"),
        (b"x-session-affinity", b"conv-7"),
    ]
    assert read_headers(headers) == ("pg-xyz", "2023-06-01", "a,b", "conv-7")


def test_an_empty_bearer_falls_back_to_x_api_key() -> None:
    assert read_headers([(b"authorization", b"Bearer "), (b"x-api-key", b"pg-1")])[0] == "pg-1"


def test_no_key_and_non_bearer_schemes_give_none() -> None:
    assert read_headers([(b"content-type", b"application/json")])[0] is None
    assert read_headers([(b"authorization", b"Basic dXNlcjpwYXNz")])[0] is None


def test_a_valid_openai_body_is_parsed_with_its_stream_flag() -> None:
    raw = b'{"model":"gpt-4o","messages":[],"stream":true}'
    req = ClientRequest(api_key="k", raw=raw, body=parse_body(raw, OPENAI))
    assert (req.model, req.stream, req.raw) == ("gpt-4o", True, raw)


def test_stream_must_be_literally_true() -> None:
    raw = b'{"model":"m","messages":[],"stream":"yes"}'
    assert ClientRequest(api_key="k", raw=raw, body=parse_body(raw, OPENAI)).stream is False


@pytest.mark.parametrize(
    ("raw", "fmt", "param"),
    [
        (b"{not json", OPENAI, None),
        (b"", CLAUDE, None),
        (b"[1, 2]", OPENAI, None),
        (b'"text"', CLAUDE, None),
        (b'{"messages":[]}', OPENAI, "model"),
        (b'{"model":null,"messages":[]}', OPENAI, "model"),
        (b'{"model":"","messages":[]}', OPENAI, "model"),
        (b'{"model":7,"messages":[]}', CLAUDE, "model"),
        (b'{"model":"m"}', OPENAI, "messages"),
        (b'{"model":"m","messages":"hi"}', OPENAI, "messages"),
        (b'{"model":"m","messages":[]}', CLAUDE, "max_tokens"),
        (b'{"model":"m","messages":[],"max_tokens":"9"}', CLAUDE, "max_tokens"),
        (b'{"model":"m","messages":[],"max_tokens":true}', CLAUDE, "max_tokens"),
    ],
)
def test_invalid_bodies_are_refused_naming_the_field(raw: bytes, fmt, param: str | None) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_body(raw, fmt)
    assert caught.value.status_code == 400
    assert caught.value.param == param


def test_openai_does_not_require_max_tokens() -> None:
    assert parse_body(b'{"model":"m","messages":[]}', OPENAI)["model"] == "m"


def test_claude_accepts_a_complete_body() -> None:
    assert parse_body(b'{"model":"m","messages":[],"max_tokens":16}', CLAUDE)["max_tokens"] == 16


async def test_the_affinity_header_names_the_calls_session() -> None:
    raw = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}'

    def request(*headers: tuple[bytes, bytes]) -> Request:
        async def receive() -> dict:
            return {"type": "http.request", "body": raw, "more_body": False}

        scope = {
            "type": "http",
            "method": "POST",
            "query_string": b"",
            "headers": [(b"x-api-key", b"k"), *headers],
        }
        return Request(scope, receive)

    with_header = await read_client_request(request((b"x-session-affinity", b"conv-7")), OPENAI)
    assert with_header.session == session_of({"messages": []}, OPENAI, "conv-7")
    assert with_header.session is not None and with_header.session.lookup
    plain = await read_client_request(request(), OPENAI)
    assert plain.session is not None and not plain.session.lookup  # a first turn: recorded only
