from __future__ import annotations

import pytest

from services.proxy_service.upstreams.custom_api import (
    UnsupportedUpstream,
    azure_url,
    build_target,
    endpoint_url,
)
from shared.internal_client import Upstream


def upstream(url: str, fmt: str, credential: str = "sk-account", model: str | None = None) -> Upstream:
    return Upstream(url=url, credential=credential, format=fmt, provider=None, model=model)


@pytest.mark.parametrize(
    ("api_base", "expected"),
    [
        ("https://api.openai.com/v1", "https://api.openai.com/v1/chat/completions"),
        ("https://api.openai.com/v1/", "https://api.openai.com/v1/chat/completions"),
        ("https://api.openai.com", "https://api.openai.com/v1/chat/completions"),
        ("https://api.openai.com/", "https://api.openai.com/v1/chat/completions"),
        ("https://openrouter.ai/api/v1", "https://openrouter.ai/api/v1/chat/completions"),
        ("http://127.0.0.1:8000/custom", "http://127.0.0.1:8000/custom/chat/completions"),
        ("https://host/v1/chat/completions", "https://host/v1/chat/completions"),
    ],
)
def test_openai_url_appends_chat_completions_and_v1_only_without_a_path(api_base: str, expected: str) -> None:
    assert endpoint_url(api_base, "openai") == expected


@pytest.mark.parametrize(
    ("api_base", "expected"),
    [
        ("https://api.anthropic.com", "https://api.anthropic.com/v1/messages"),
        ("https://api.anthropic.com/", "https://api.anthropic.com/v1/messages"),
        ("https://api.anthropic.com/v1", "https://api.anthropic.com/v1/messages"),
        ("https://api.deepseek.com/anthropic", "https://api.deepseek.com/anthropic/v1/messages"),
        ("https://openrouter.ai/api/v1/", "https://openrouter.ai/api/v1/messages"),
        ("https://host/v1/messages", "https://host/v1/messages"),
    ],
)
def test_claude_url_adds_v1_unless_the_base_ends_with_it(api_base: str, expected: str) -> None:
    assert endpoint_url(api_base, "claude") == expected


def test_a_query_in_the_api_base_is_kept() -> None:
    assert endpoint_url("https://host/v1?tenant=a", "openai") == "https://host/v1/chat/completions?tenant=a"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(UnsupportedUpstream):
        endpoint_url("https://host", "gemini")


def test_openai_target_uses_the_account_credential_as_bearer() -> None:
    target = build_target(upstream("https://api.openai.com/v1", "openai"), correlation_id="cid-1")
    assert target.url == "https://api.openai.com/v1/chat/completions"
    assert target.headers == {
        "content-type": "application/json",
        "accept-encoding": "identity",
        "authorization": "Bearer sk-account",
        "x-correlation-id": "cid-1",
    }


def test_openai_target_ignores_anthropic_headers_and_query() -> None:
    target = build_target(
        upstream("https://api.openai.com/v1", "openai"),
        anthropic_version="2023-06-01",
        anthropic_beta="x",
        query="beta=true",
    )
    assert target.url == "https://api.openai.com/v1/chat/completions"
    assert "anthropic-beta" not in target.headers
    assert "x-correlation-id" not in target.headers


def test_claude_target_uses_x_api_key_and_a_default_version() -> None:
    target = build_target(upstream("https://api.anthropic.com", "claude"))
    assert target.url == "https://api.anthropic.com/v1/messages"
    assert target.headers["x-api-key"] == "sk-account"
    assert target.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in target.headers
    assert "anthropic-beta" not in target.headers


def test_claude_target_passes_version_beta_and_query_through() -> None:
    target = build_target(
        upstream("https://api.anthropic.com/v1", "claude"),
        anthropic_version="2024-01-01",
        anthropic_beta="interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14",
        query="beta=true",
    )
    assert target.url == "https://api.anthropic.com/v1/messages?beta=true"
    assert target.headers["anthropic-version"] == "2024-01-01"
    assert target.headers["anthropic-beta"] == (
        "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"
    )


def test_claude_query_joins_a_query_already_in_the_base() -> None:
    target = build_target(upstream("https://host/v1?tenant=a", "claude"), query="beta=true")
    assert target.url == "https://host/v1/messages?tenant=a&beta=true"


@pytest.mark.parametrize("fmt", ["openai", "claude"])
def test_the_client_poolgate_key_never_reaches_the_upstream(fmt: str) -> None:
    # build_target has no way to receive the client's key; only the account credential appears.
    target = build_target(upstream("https://host", fmt, credential="sk-upstream"), correlation_id="c")
    values = " ".join(target.headers.values())
    assert "sk-upstream" in values
    assert "pg-" not in values
    assert set(target.headers) <= {
        "content-type",
        "accept-encoding",
        "authorization",
        "x-api-key",
        "anthropic-version",
        "x-correlation-id",
    }


@pytest.mark.parametrize(
    ("base", "deployment", "url"),
    [
        (
            "https://r.openai.azure.com/openai/deployments/gpt-4o",
            None,
            "https://r.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
        ),
        (
            "https://r.openai.azure.com/openai/deployments/gpt-4o?api-version=2025-01-01-preview",
            None,
            "https://r.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2025-01-01-preview",
        ),
        (
            "https://r.openai.azure.com",
            "prod-4o",
            "https://r.openai.azure.com/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21",
        ),
        (
            "https://r.openai.azure.com/openai/v1",
            None,
            "https://r.openai.azure.com/openai/v1/chat/completions",
        ),
    ],
)
def test_azure_urls(base, deployment, url):
    assert azure_url(base, deployment) == url


def test_an_azure_account_without_a_deployment_is_unusable():
    with pytest.raises(UnsupportedUpstream):
        azure_url("https://r.openai.azure.com", None)


def test_azure_sends_the_key_as_api_key_and_never_a_bearer():
    target = build_target(
        Upstream(
            url="https://r.openai.azure.com/openai/deployments/d",
            credential="az-key",
            format="openai",
            provider="azure",
            model=None,
        )
    )
    assert target.headers["api-key"] == "az-key"
    assert "authorization" not in target.headers


def test_an_azure_resource_is_called_at_the_override_deployment_with_its_api_key():
    target = build_target(
        Upstream(
            url="https://r.openai.azure.com",
            credential="az-key",
            format="openai",
            provider="azure",
            model="prod-4o",
        )
    )
    assert target.url == (
        "https://r.openai.azure.com/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21"
    )
    assert target.headers["api-key"] == "az-key" and "authorization" not in target.headers
