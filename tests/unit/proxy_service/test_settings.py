"""Proxy settings read from the environment the way operators write them."""

from __future__ import annotations

import pytest

from services.proxy_service.settings import ProxySettings


@pytest.mark.parametrize(
    ("raw", "origins"),
    [
        ("", []),
        ("https://a.example", ["https://a.example"]),
        ("https://a.example, https://b.example,", ["https://a.example", "https://b.example"]),
        ('["https://a.example", "https://b.example"]', ["https://a.example", "https://b.example"]),
    ],
)
def test_cors_origins_are_a_comma_separated_or_json_list(
    monkeypatch: pytest.MonkeyPatch, raw: str, origins: list[str]
) -> None:
    monkeypatch.setenv("POOLGATE_CORS_ORIGINS", raw)
    assert ProxySettings().cors_origins == origins


def test_client_limits_default_to_32_mib_and_30_s() -> None:
    settings = ProxySettings()
    assert settings.max_body_bytes == 33_554_432
    assert (settings.client_header_timeout_s, settings.client_body_timeout_s) == (30.0, 30.0)
    assert settings.cors_origins == []
