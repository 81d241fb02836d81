"""Reading a Kiro account's usage limits: the host's region, the answer's sums, and bad answers."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from services.refresh_worker.kiro_usage import UsageUnread, api_region, parse_usage_limits

ARN = "arn:aws:codewhisperer:eu-central-1:699475941385:profile/ABC"


def test_the_chat_region_follows_api_region_then_the_profile_arn() -> None:
    assert api_region({"api_region": "ap-southeast-1"}, ARN) == "ap-southeast-1"
    assert api_region({}, ARN) == "eu-central-1"
    assert api_region({"api_region": "evil.example.com/"}, None) == "us-east-1"
    assert api_region({}, "arn:aws:codewhisperer:not a region:1:profile/x") == "us-east-1"


def test_limits_add_an_active_trial_and_active_bonuses() -> None:
    body = {
        "nextDateReset": 1798761600,
        "usageBreakdownList": [
            {"resourceType": "OTHER", "usageLimit": 1, "currentUsage": 1},
            {
                "resourceType": "CREDIT",
                "usageLimitWithPrecision": 50.0,
                "currentUsageWithPrecision": 45.5,
                "freeTrialInfo": {
                    "freeTrialStatus": "ACTIVE",
                    "usageLimitWithPrecision": 100,
                    "currentUsageWithPrecision": 10,
                },
                "bonuses": [
                    {"status": "ACTIVE", "usageLimit": 20, "currentUsage": 0},
                    {"status": "EXPIRED", "usageLimit": 500, "currentUsage": 0},
                ],
            },
        ],
    }
    limits = parse_usage_limits(200, orjson.dumps(body))
    assert (limits.remaining, limits.limit) == (114.5, 170.0)
    assert limits.resets_at == datetime.fromtimestamp(1798761600, UTC)


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (403, b'{"message":"The bearer token included in the request is invalid."}', "HTTP 403"),
        (200, b"<html>", "not JSON"),
        (200, b"{}", "without a usage breakdown"),
        (200, b'{"usageBreakdownList":[{"resourceType":"CREDIT","usageLimit":0}]}', "without a usage limit"),
        (
            200,
            b'{"usageBreakdownList":[{"resourceType":"CREDIT","usageLimit":true}]}',
            "without a usage limit",
        ),
    ],
)
def test_a_bad_answer_is_unread(status: int, body: bytes, reason: str) -> None:
    with pytest.raises(UsageUnread, match=reason):
        parse_usage_limits(status, body)


def test_used_beyond_the_limit_leaves_nothing() -> None:
    body = {"usageBreakdownList": [{"resourceType": "CREDIT", "usageLimit": 50, "currentUsage": 60}]}
    limits = parse_usage_limits(200, orjson.dumps(body))
    assert (limits.remaining, limits.limit, limits.resets_at) == (0.0, 50.0, None)
