from __future__ import annotations

from email.utils import formatdate

import aiohttp
import pytest
from aiohttp_socks import ProxyConnectionError, ProxyError

from services.proxy_service.relay.outcome import (
    answer_outcome,
    exception_error,
    exception_outcome,
    is_retryable_exception,
    parse_retry_after,
    status_outcome,
)


@pytest.mark.parametrize(
    ("status", "outcome", "retryable"),
    [
        (200, "success", False),
        (201, "success", False),
        (429, "rate_limited", True),
        (500, "upstream_error", True),
        (502, "upstream_error", True),
        (503, "upstream_error", True),
        (529, "upstream_error", True),
        (400, "client_error", False),
        (404, "client_error", False),
        (413, "client_error", False),
        (422, "client_error", False),
        (401, "credential_rejected", True),
        (403, "credential_rejected", True),
        (302, "upstream_error", False),
    ],
)
def test_status_outcome_and_retry_decision(status: int, outcome: str, retryable: bool) -> None:
    assert status_outcome(status) == (outcome, retryable)


def _connector_error() -> aiohttp.ClientConnectorError:
    from aiohttp.client_reqrep import ConnectionKey

    key = ConnectionKey("h", 1, False, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (_connector_error(), "connect_error"),
        (aiohttp.ConnectionTimeoutError("connect"), "connect_error"),
        (TimeoutError(), "timeout"),
        (aiohttp.SocketTimeoutError("read"), "timeout"),
        (aiohttp.ServerDisconnectedError(), "upstream_error"),
        (aiohttp.ClientPayloadError("cut"), "upstream_error"),
        (aiohttp.ClientOSError(104, "reset"), "upstream_error"),
        (ConnectionResetError(), "upstream_error"),
    ],
)
def test_failures_before_the_first_byte_are_retryable(exc: BaseException, outcome: str) -> None:
    assert is_retryable_exception(exc)
    assert exception_outcome(exc) == outcome


def test_programming_errors_are_not_retried() -> None:
    assert not is_retryable_exception(ValueError("bug"))
    assert not is_retryable_exception(KeyError("bug"))


def test_a_timeout_answers_504_and_an_unreachable_upstream_502() -> None:
    assert exception_error(TimeoutError()).status_code == 504
    assert exception_error(_connector_error()).status_code == 502
    assert exception_error(aiohttp.ServerDisconnectedError()).status_code == 502


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after({"retry-after": "12"}) == 12.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5


def test_retry_after_ms_wins() -> None:
    assert parse_retry_after({"retry-after-ms": "2500", "retry-after": "3"}) == 2.5


def test_retry_after_as_an_http_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after({"retry-after": formatdate(now + 30, usegmt=True)}, now=now) == pytest.approx(30)
    assert parse_retry_after({"retry-after": formatdate(now - 30, usegmt=True)}, now=now) == 0.0


def test_missing_or_garbage_retry_after_gives_none() -> None:
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (402, b"{}", ("exhausted", True)),
        (429, b'{"error":{"code":"insufficient_quota"}}', ("exhausted", True)),
        (400, b'{"reason":"MONTHLY_REQUEST_COUNT"}', ("exhausted", True)),
        (400, b'{"error":{"message":"Your credit balance is too low"}}', ("exhausted", True)),
        (429, b'{"error":{"code":"rate_limit_exceeded"}}', ("rate_limited", True)),
        (400, b'{"error":"bad field"}', ("client_error", False)),
    ],
)
def test_quota_answers_are_exhausted_not_rate_limited(status, body, expected):
    assert answer_outcome(status, body) == expected


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (ProxyConnectionError(111, "Couldn't connect to proxy 127.0.0.1:1"), "proxy_error"),
        (ProxyError("407 Proxy Authentication Required", error_code=407), "proxy_error"),
        (ProxyError("Username and password authentication failure"), "proxy_error"),
        (ProxyError("502 Bad Gateway", error_code=502), "connect_error"),  # the upstream behind it
        (ProxyError("Connection refused by destination host", error_code=5), "connect_error"),
    ],
)
def test_an_egress_proxys_own_failure_is_proxy_error(exc, outcome):
    assert exception_outcome(exc) == outcome
    assert is_retryable_exception(exc)
    if outcome == "proxy_error":
        assert exception_error(exc).code == "egress_proxy_failed"
