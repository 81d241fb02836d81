"""The proxy's half of the SSRF guard (see shared/netguard.py): every upstream socket is checked
against the address it is about to connect to.

The check sits in the connector's `socket_factory`, which aiohttp calls with the resolved address of
each connection attempt. So it covers literal IPs (which never reach a resolver), names that resolve
inward, and names that change their answer after they were checked (DNS rebinding): what is checked
is what is connected to. An account saved while private upstreams were allowed is refused here once
they no longer are.
"""

from __future__ import annotations

import errno
import socket

from aiohttp import AddrInfoType

from shared.netguard import is_internal

ADDRESS_REFUSED_CODE = "upstream_address_refused"
# One fixed text (no address in it): when every address of a host is refused, aiohappyeyeballs
# raises the first error as it is only if all of them read the same.
_REFUSED = "the upstream address is not globally routable (POOLGATE_ALLOW_PRIVATE_UPSTREAMS is off)"


class UpstreamAddressRefused(OSError):
    """Raised instead of connecting to an address on an internal network."""

    def __init__(self) -> None:
        super().__init__(errno.EACCES, _REFUSED)


def guarded_socket(addr_info: AddrInfoType) -> socket.socket:
    """aiohttp `socket_factory`: a socket for a globally routable address, else refuse."""
    family, type_, proto, _, sockaddr = addr_info
    if is_internal(sockaddr[0]):
        raise UpstreamAddressRefused()
    return socket.socket(family=family, type=type_, proto=proto)


def address_refused(exc: BaseException) -> bool:
    """Whether a failed upstream call failed because the guard refused its address (aiohttp wraps
    the factory's error in a ClientConnectorError)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UpstreamAddressRefused):
            return True
        seen = getattr(seen, "os_error", None) or seen.__cause__
    return False
