import orjson
import pytest

from shared.errors import (
    ClientGone,
    Forbidden,
    InvalidRequest,
    NoAccountAvailable,
    RateLimited,
    RequestTimeout,
    RequestTooLarge,
    Unauthenticated,
    from_plain,
    plain_body,
    render,
)


def test_openai_shape_names_the_field():
    body = orjson.loads(render(InvalidRequest("messages is required", param="messages"), "openai"))
    assert body == {
        "error": {
            "message": "messages is required",
            "type": "invalid_request_error",
            "param": "messages",
            "code": None,
        }
    }


def test_anthropic_shape():
    body = orjson.loads(render(Unauthenticated("invalid API key"), "anthropic"))
    assert body == {"type": "error", "error": {"type": "authentication_error", "message": "invalid API key"}}


@pytest.mark.parametrize(
    ("error", "openai_type", "anthropic_type"),
    [
        (RateLimited("slow down"), "rate_limit_error", "rate_limit_error"),
        (Forbidden("no"), "permission_error", "permission_error"),
        (NoAccountAvailable("none"), "service_unavailable", "overloaded_error"),
    ],
)
def test_each_kind_maps_to_the_clients_own_type(error, openai_type, anthropic_type):
    assert orjson.loads(render(error, "openai"))["error"]["type"] == openai_type
    assert orjson.loads(render(error, "anthropic"))["error"]["type"] == anthropic_type


def test_plain_round_trip_keeps_kind_status_and_retry_after():
    original = NoAccountAvailable("all cooling", retry_after=12.5)
    rebuilt = from_plain(503, plain_body(original))
    assert isinstance(rebuilt, NoAccountAvailable)
    assert (rebuilt.status_code, rebuilt.message, rebuilt.retry_after) == (503, "all cooling", 12.5)
    assert rebuilt.headers() == {"retry-after": "12"}


def test_a_body_too_large_is_413_in_each_clients_words():
    err = RequestTooLarge("too big")
    assert err.status_code == 413
    assert orjson.loads(render(err, "openai")) == {
        "error": {
            "message": "too big",
            "type": "invalid_request_error",
            "param": None,
            "code": "request_too_large",
        }
    }
    assert orjson.loads(render(err, "anthropic")) == {
        "type": "error",
        "error": {"type": "request_too_large", "message": "too big"},
    }
    assert err.headers() == {}
    assert RequestTooLarge("too big", close_connection=True).headers() == {"connection": "close"}


def test_a_stalled_body_is_a_408_that_closes_the_connection():
    err = RequestTimeout("stalled")
    assert err.status_code == 408
    assert orjson.loads(render(err, "openai"))["error"]["code"] == "request_timeout"
    assert err.headers() == {"connection": "close"}


def test_the_new_errors_round_trip_through_plain_json():
    for original in (RequestTooLarge("a"), RequestTimeout("b"), ClientGone("c")):
        rebuilt = from_plain(original.status_code, plain_body(original))
        assert type(rebuilt) is type(original)
