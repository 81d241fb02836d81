"""Egress proxy URLs: credentials percent-encoded, shown redacted, taken apart for Chromium; the
failures of the proxy itself told from the upstream's; the token jimeng-api takes with a proxy."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp_socks import ProxyConnectionError, ProxyError

from shared.dreamina import jimeng_token
from shared.egress import (
    connector,
    is_destination_failure,
    is_proxy_failure,
    playwright_proxy,
    proxy_url,
    redact,
    shown_url,
)


def test_credentials_are_percent_encoded_and_redacted_when_shown():
    url = proxy_url("socks5", "proxy.example.net", 1080, "us er", "p@ss:w/rd")
    assert url == "socks5://us%20er:p%40ss%3Aw%2Frd@proxy.example.net:1080"
    assert redact(url) == "socks5://us%20er:****@proxy.example.net:1080"
    assert "p%40ss" not in redact(url)
    assert proxy_url("http", "::1", 3128) == "http://[::1]:3128"
    assert redact("http://10.0.0.1:3128") == "http://10.0.0.1:3128"
    assert shown_url("https", "h", 443, "u", has_password=True) == "https://u:****@h:443"
    assert shown_url("https", "h", 443, None, has_password=False) == "https://h:443"


def test_chromium_gets_the_credentials_apart_and_no_loopback_bypass():
    option = playwright_proxy(proxy_url("http", "127.0.0.1", 8080, "u@x", "p:w"))
    assert option == {
        "server": "http://127.0.0.1:8080",
        "bypass": "<-loopback>",
        "username": "u@x",
        "password": "p:w",
    }
    assert "username" not in playwright_proxy("socks5://10.0.0.2:1080")


async def test_a_connector_needs_a_known_scheme_host_and_port():
    for bad in ("ftp://h:21", "http://h", "socks5://:1080"):
        with pytest.raises(ValueError, match="scheme://host:port"):
            connector(bad)
    made = connector("socks5://u:p@127.0.0.1:1080")
    await made.close()


def test_proxy_failures_are_told_from_upstream_ones():
    assert is_proxy_failure(ProxyConnectionError(111, "Couldn't connect to proxy 127.0.0.1:1"))
    assert is_proxy_failure(ProxyError("407 Proxy Authentication Required"))
    wrapped = aiohttp.ClientOSError()
    wrapped.__cause__ = ProxyError("SOCKS refused")
    assert is_proxy_failure(wrapped)
    assert not is_proxy_failure(aiohttp.ServerDisconnectedError())
    # The proxy worked, the upstream behind it did not answer: the upstream's failure.
    for code in (5, 502):
        assert not is_proxy_failure(ProxyError("refused by destination", error_code=code))
        assert is_destination_failure(ProxyError("refused by destination", error_code=code))
    assert is_proxy_failure(ProxyError("SOCKS general failure", error_code=1))

    assert not is_proxy_failure(TimeoutError())


def test_the_jimeng_token_carries_the_proxy_before_the_region_prefix():
    assert jimeng_token("us", "abc123") == "us-abc123"
    assert jimeng_token("us", "abc123", "socks5://u:p@h:1080") == "socks5://u:p@h:1080@us-abc123"
    assert jimeng_token("cn", "abc123", "http://h:3128") == "http://h:3128@abc123"
