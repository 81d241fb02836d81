"""Keeping user-supplied upstream URLs away from internal networks (SSRF).

A user who may register an `api_base` could otherwise aim PoolGate at its own PostgreSQL, a cloud
metadata endpoint (169.254.169.254, or Alibaba Cloud's 100.100.100.200 in the carrier-grade NAT range
that `is_private` does not cover) or anything else on the private network. Only globally routable
unicast addresses are allowed, and an IPv6 address that carries an IPv4 one (IPv4-mapped, 6to4,
NAT64, Teredo) is judged by the IPv4 address it leads to. The operator can allow everything
(`POOLGATE_ALLOW_PRIVATE_UPSTREAMS=true`, e.g. for a vLLM next door). account_service checks when an
`api_base` is saved (a clear 422 for the user); the proxy checks every socket it connects, after DNS,
so a name that later resolves inward (DNS rebinding) and a literal address saved while private
upstreams were allowed are refused too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix: the last 32 bits are IPv4
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: local-use translation, never global


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address leads to through a translation or a tunnel (none for a
    plain IPv6 address). Teredo gives two, its server and its client, and both must pass."""
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        return ip.teredo
    if ip in _NAT64:
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    return ()


def _routable(ip: IPAddress) -> bool:
    # `is_global` alone lets multicast through (224.0.0.0/4 and ff00::/8 count as global), and
    # Python 3.11's IPv6 table misses a few special ranges; the extra flags close those gaps.
    return ip.is_global and not (
        ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback or ip.is_unspecified
    )


def is_internal(address: str | IPAddress) -> bool:
    """True for every address that is not a globally routable unicast address (the SSRF rule).

    Text that is not an address at all counts as internal: the guard fails closed."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return True
        inner = embedded_ipv4(ip)
        if inner:
            return not all(_routable(v4) for v4 in inner)
    return not _routable(ip)


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
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port out of range: nothing to connect to
        port = 443 if parts.scheme == "https" else 80
    try:
        addresses = await resolve(host, port)
    except (OSError, UnicodeError):
        return None
    return next((a for a in addresses if is_internal(a)), None)
