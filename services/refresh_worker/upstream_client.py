"""The client for calls to an account's own upstream (a custom API account's `api_base`, which a
user typed): the worker's half of the SSRF guard (shared/netguard.py), as the proxy's connector has.

Every connection resolves the host itself and connects only to a globally routable address of it,
so a name that resolves inward, or changes its answer after it was checked when the account was
saved (DNS rebinding), reaches nothing internal (account_service's internal API included). TLS still
names the host. With POOLGATE_ALLOW_PRIVATE_UPSTREAMS on, it is a plain client."""

from __future__ import annotations

from collections.abc import Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpcore
import httpx

from shared.netguard import is_internal, resolve

REFUSED = "the upstream address is not globally routable (POOLGATE_ALLOW_PRIVATE_UPSTREAMS is off)"


class AddressRefused(httpcore.ConnectError):
    pass


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(
                f"cannot resolve the upstream host: {exc.__class__.__name__}"
            ) from exc
        routable = [a for a in addresses if not is_internal(a)]
        if not routable:
            raise AddressRefused(REFUSED)
        return await self._inner.connect_tcp(
            routable[0], port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise AddressRefused(REFUSED)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        # httpx does not take a network backend; its pool is rebuilt with the guarded one.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=GuardedBackend()
        )


def upstream_client(*, allow_private: bool) -> httpx.AsyncClient:
    """No cookies (one account's upstream must not mark another's calls), no redirects followed."""
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    transport = None if allow_private else GuardedTransport()
    return httpx.AsyncClient(transport=transport, follow_redirects=False, cookies=no_cookies)
