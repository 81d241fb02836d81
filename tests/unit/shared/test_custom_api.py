from __future__ import annotations

import pytest

from shared.custom_api import (
    ANTHROPIC_VERSION,
    UnusableEndpoint,
    add_auth_headers,
    azure_url,
    chat_url,
    endpoint_url,
)


def _headers(fmt: str, *, azure: bool = False, anthropic_version: str | None = None) -> dict[str, str]:
    headers = {"accept": "application/json"}
    add_auth_headers(headers, fmt=fmt, azure=azure, key="sk-1", anthropic_version=anthropic_version)
    return headers


def test_an_openai_endpoint_gets_the_key_as_a_bearer_token() -> None:
    assert _headers("openai") == {"accept": "application/json", "authorization": "Bearer sk-1"}


def test_azure_openai_gets_the_key_as_api_key_and_never_a_bearer() -> None:
    assert _headers("openai", azure=True) == {"accept": "application/json", "api-key": "sk-1"}


@pytest.mark.parametrize("azure", [False, True])
def test_a_claude_endpoint_gets_x_api_key_and_the_default_version(azure: bool) -> None:
    assert _headers("claude", azure=azure) == {
        "accept": "application/json",
        "x-api-key": "sk-1",
        "anthropic-version": ANTHROPIC_VERSION,
    }


def test_a_claude_endpoint_gets_the_clients_version_when_it_names_one() -> None:
    assert _headers("claude", anthropic_version="2024-01-01")["anthropic-version"] == "2024-01-01"


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
        ("https://api.deepseek.com/chat/completions", "https://api.deepseek.com/chat/completions"),
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
        ("https://host/messages", "https://host/messages"),
    ],
)
def test_claude_url_adds_v1_unless_the_base_ends_with_it(api_base: str, expected: str) -> None:
    assert endpoint_url(api_base, "claude") == expected


def test_a_query_in_the_api_base_is_kept() -> None:
    assert endpoint_url("https://host/v1?tenant=a", "openai") == "https://host/v1/chat/completions?tenant=a"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(UnusableEndpoint):
        endpoint_url("https://host", "gemini")


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
            "https://r.openai.azure.com/openai/deployments/gpt-4o/?tenant=a",
            None,
            "https://r.openai.azure.com/openai/deployments/gpt-4o/chat/completions?tenant=a&api-version=2024-10-21",
        ),
        (
            "https://r.openai.azure.com/openai/",
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
    with pytest.raises(UnusableEndpoint):
        azure_url("https://r.openai.azure.com", None)


@pytest.mark.parametrize(
    ("fmt", "azure", "url"),
    [
        (
            "openai",
            True,
            "https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21",
        ),
        ("openai", False, "https://r.openai.azure.com/v1/chat/completions"),
        ("claude", True, "https://r.openai.azure.com/v1/messages"),
    ],
)
def test_the_chat_url_is_azures_only_for_an_openai_format_azure_account(fmt: str, azure: bool, url: str):
    assert chat_url("https://r.openai.azure.com/", fmt, azure, "d") == url
