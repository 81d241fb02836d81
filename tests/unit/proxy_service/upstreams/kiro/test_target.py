from __future__ import annotations

import uuid

import pytest

from services.proxy_service.upstreams.kiro.target import DEFAULT_CHAT_URL, build_target, chat_url
from shared.internal_client import Upstream
from shared.logging import CORRELATION_HEADER


def kiro(
    *, credential: str = "kiro-access-token", region: str | None = None, api_region: str | None = None
) -> Upstream:
    return Upstream(
        url="",
        credential=credential,
        format="kiro",
        provider=None,
        model=None,
        region=region,
        api_region=api_region,
        profile_arn="arn:aws:codewhisperer:us-east-1:1:profile/X",
    )


def test_the_default_template_uses_the_api_region() -> None:
    target = build_target(
        kiro(api_region="eu-central-1"), chat_url_template=DEFAULT_CHAT_URL, correlation_id=None
    )

    assert target.url == "https://q.eu-central-1.amazonaws.com/generateAssistantResponse"


def test_regions_default_to_us_east_1() -> None:
    template = "https://{region}.auth/{api_region}/chat"

    target = build_target(kiro(), chat_url_template=template, correlation_id=None)

    assert target.url == "https://us-east-1.auth/us-east-1/chat"


def test_a_template_may_use_the_token_region_and_the_api_region_apart() -> None:
    template = "https://runtime.{region}.kiro.dev/{api_region}"

    target = build_target(
        kiro(region="ap-southeast-1", api_region="us-east-1"), chat_url_template=template, correlation_id=None
    )

    assert target.url == "https://runtime.ap-southeast-1.kiro.dev/us-east-1"


@pytest.mark.parametrize(
    ("template", "url"),
    [
        (DEFAULT_CHAT_URL, "https://q.us-west-2.amazonaws.com/generateAssistantResponse"),
        (
            "https://codewhisperer.{api_region}.amazonaws.com/generateAssistantResponse",
            "https://codewhisperer.us-west-2.amazonaws.com/generateAssistantResponse",
        ),
        ("http://127.0.0.1:9000/fake", "http://127.0.0.1:9000/fake"),
    ],
)
def test_chat_url_fills_the_template(template: str, url: str) -> None:
    assert chat_url(template, "us-west-2", "eu-west-1") == url


def test_the_headers_carry_the_account_bearer_and_kiros_client_headers() -> None:
    target = build_target(
        kiro(credential="aoa-secret"), chat_url_template=DEFAULT_CHAT_URL, correlation_id="cid-7"
    )

    headers = target.headers
    assert headers["authorization"] == "Bearer aoa-secret"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/vnd.amazon.eventstream"
    assert headers["accept-encoding"] == "identity"
    assert (
        headers["user-agent"].startswith("aws-sdk-js/")
        and "api/codewhispererstreaming" in headers["user-agent"]
    )
    assert headers["x-amz-user-agent"].startswith("aws-sdk-js/")
    assert headers["x-amzn-codewhisperer-optout"] == "true"
    assert headers["x-amzn-kiro-agent-mode"] == "vibe"
    assert headers["amz-sdk-request"] == "attempt=1; max=1"
    assert uuid.UUID(headers["amz-sdk-invocation-id"]).version == 4
    assert headers[CORRELATION_HEADER] == "cid-7"


def test_no_correlation_header_without_a_correlation_id() -> None:
    target = build_target(kiro(), chat_url_template=DEFAULT_CHAT_URL, correlation_id=None)

    assert CORRELATION_HEADER not in target.headers


def test_each_call_gets_its_own_invocation_id() -> None:
    first = build_target(kiro(), chat_url_template=DEFAULT_CHAT_URL, correlation_id=None)
    second = build_target(kiro(), chat_url_template=DEFAULT_CHAT_URL, correlation_id=None)

    assert first.headers["amz-sdk-invocation-id"] != second.headers["amz-sdk-invocation-id"]


def test_only_the_account_credential_reaches_kiro() -> None:
    # build_target has no way to receive the client's PoolGate key; only the account's token appears.
    target = build_target(
        kiro(credential="kiro-token"), chat_url_template=DEFAULT_CHAT_URL, correlation_id="c"
    )

    values = " ".join(target.headers.values())
    assert values.count("kiro-token") == 1
    assert "pg-" not in values
    assert "x-api-key" not in target.headers
    assert set(target.headers) == {
        "content-type",
        "accept",
        "accept-encoding",
        "authorization",
        "user-agent",
        "x-amz-user-agent",
        "x-amzn-codewhisperer-optout",
        "x-amzn-kiro-agent-mode",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
        CORRELATION_HEADER,
    }
