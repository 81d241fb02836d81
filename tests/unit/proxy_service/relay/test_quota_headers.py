"""Reading what an upstream's rate-limit headers say is left: OpenAI's and Anthropic's, the tightest
limit winning, and anything unreadable ignored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from multidict import CIMultiDict

from services.proxy_service.relay.quota_headers import parse_duration, read

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


def test_openai_requests_and_tokens_the_tightest_wins() -> None:
    headers = CIMultiDict(
        {
            "X-RateLimit-Limit-Requests": "100",
            "X-RateLimit-Remaining-Requests": "80",
            "X-RateLimit-Reset-Requests": "6m0s",
            "x-ratelimit-limit-tokens": "10000",
            "x-ratelimit-remaining-tokens": "2500",
            "x-ratelimit-reset-tokens": "1.5s",
        }
    )
    assert read(headers, NOW) == (0.25, NOW + timedelta(seconds=1.5))


def test_anthropic_limits_with_rfc3339_resets() -> None:
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": "2026-12-05T12:00:30Z",
        "anthropic-ratelimit-input-tokens-limit": "40000",
        "anthropic-ratelimit-input-tokens-remaining": "4000",
        "anthropic-ratelimit-input-tokens-reset": "2026-12-05T12:00:05+00:00",
    }
    assert read(headers, NOW) == (0.1, NOW + timedelta(seconds=5))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"content-type": "application/json"},
        {"x-ratelimit-limit-requests": "abc", "x-ratelimit-remaining-requests": "1"},
        {"x-ratelimit-limit-requests": "0", "x-ratelimit-remaining-requests": "1"},
        {"x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "-3"},
        {"x-ratelimit-remaining-requests": "10"},  # no limit to say what fraction that is
        {"anthropic-ratelimit-tokens-limit": "inf", "anthropic-ratelimit-tokens-remaining": "5"},
        {"anthropic-ratelimit-requests-limit": "nan", "anthropic-ratelimit-requests-remaining": "5"},
    ],
)
def test_nothing_readable_is_none(headers) -> None:
    assert read(headers, NOW) is None


def test_a_bad_limit_is_ignored_and_the_good_one_kept() -> None:
    headers = {
        "x-ratelimit-limit-requests": "ten",
        "x-ratelimit-remaining-requests": "1",
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "600",
        "x-ratelimit-reset-tokens": "soon",
    }
    assert read(headers, NOW) == (0.6, None)


def test_a_bad_or_far_off_reset_is_dropped_and_the_fraction_kept() -> None:
    headers = {
        "anthropic-ratelimit-requests-limit": "10",
        "anthropic-ratelimit-requests-remaining": "20",  # more than the limit: all of it
        "anthropic-ratelimit-requests-reset": "next tuesday",
        "anthropic-ratelimit-tokens-limit": "10",
        "anthropic-ratelimit-tokens-remaining": "5",
        "anthropic-ratelimit-tokens-reset": "2031-01-01T00:00:00",  # no time zone
    }
    assert read(headers, NOW) == (0.5, None)
    far = {**headers, "anthropic-ratelimit-tokens-reset": "2030-01-01T00:00:00Z"}
    assert read(far, NOW) == (0.5, None)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1), ("6m0s", 360), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("2m", 120), ("7.25", 7.25)],
)
def test_openai_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "s", "1x", "m5", "-1s", None])
def test_bad_durations(text) -> None:
    assert parse_duration(text) is None
