"""An account's egress proxy URL, from the proxy columns its row carries (accounts/repository.py)."""

from __future__ import annotations

from typing import Any

from shared.crypto import SecretBox
from shared.egress import proxy_url


def egress_url(box: SecretBox, proxy: dict[str, Any] | None) -> str | None:
    """The URL with its credentials (decrypted), for the connections that use it; never shown."""
    if proxy is None:
        return None
    password = box.decrypt(proxy["password"]) if proxy.get("password") else None
    return proxy_url(proxy["scheme"], proxy["host"], proxy["port"], proxy.get("username"), password)
