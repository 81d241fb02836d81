from __future__ import annotations

import pytest

from services.proxy_service.upstreams.custom_api import UnsupportedUpstream, build_target
from shared.internal_client import Upstream


def upstream(url: str, fmt: str, credential: str = "sk-account", model: str | None = None) -> Upstream:
    return Upstream(url=url, credential=credential, format=fmt, provider=None, model=model)


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
    ("api_base", "fmt", "provider"),
    [("https://host", "gemini", None), ("https://r.openai.azure.com", "openai", "azure")],
)
def test_an_account_whose_settings_name_no_endpoint_is_unsupported(api_base, fmt, provider):
    with pytest.raises(UnsupportedUpstream):
        build_target(Upstream(url=api_base, credential="k", format=fmt, provider=provider, model=None))


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
