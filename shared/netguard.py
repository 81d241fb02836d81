"""Keeping user-supplied upstream URLs away from internal networks (SSRF).

A user who may register an `api_base` could otherwise aim PoolGate at its own PostgreSQL, a cloud
metadata endpoint or anything else on the private network. Addresses that are private, loopback,
link-local, multicast, reserved or unspecified are refused unless the operator allows them
(`POOLGATE_ALLOW_PRIVATE_UPSTREAMS=true`, e.g. for a vLLM next door). account_service checks when an
account is saved (a clear 422 for the user); the proxy checks again on every connection, after DNS,
so a name that later resolves inward (DNS rebinding) is refused too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


def is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


async def internal_address_of(url: str) -> str | None:
    """The first internal address `url`'s host resolves to, or None. Unresolvable hosts are not
    refused here: they cannot reach anything, and the proxy checks again when it connects."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return None
    try:
        addresses = await resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError:
        return None
    return next((a for a in addresses if is_internal(a)), None)
