from __future__ import annotations

import pytest

from shared.custom_api import ANTHROPIC_VERSION, add_auth_headers


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
