"""Egress proxies: an account's traffic leaves through its proxy, and never directly.

* `proxy_url` builds the URL a proxy is reached at (credentials percent-encoded); `redact` is how a
  URL is shown anywhere (lists, logs, events): the password replaced by `****`.
* `EgressSessions` keeps one aiohttp session per proxy URL (aiohttp-socks' `ProxyConnector`: HTTP
  CONNECT for http/https proxies, SOCKS5 with remote DNS), made on first use and closed together.
* `is_proxy_failure` tells a failure of the proxy itself (refused, dead, 407, a SOCKS refusal) from
  one of the upstream behind it: only the first is the attempt's `proxy_error`.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import aiohttp
from aiohttp_socks import ProxyConnectionError, ProxyConnector, ProxyError, ProxyTimeoutError, ProxyType

SCHEMES = ("http", "https", "socks5")
# What aiohttp-socks raises when the proxy itself fails (not the upstream behind it).
PROXY_EXCEPTIONS = (ProxyConnectionError, ProxyError, ProxyTimeoutError)
_TYPES = {"http": ProxyType.HTTP, "https": ProxyType.HTTP, "socks5": ProxyType.SOCKS5}
REDACTED = "****"


def proxy_url(
    scheme: str, host: str, port: int, username: str | None = None, password: str | None = None
) -> str:
    """`scheme://[user[:password]@]host:port`, user and password percent-encoded."""
    auth = ""
    if username:
        auth = quote(username, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        auth += "@"
    bracketed = f"[{host}]" if ":" in host else host
    return f"{scheme}://{auth}{bracketed}:{port}"


def redact(url: str | None) -> str | None:
    """The URL with its password replaced: what may be shown or logged."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{REDACTED}@{host}"))


def shown_url(scheme: str, host: str, port: int, username: str | None, has_password: bool) -> str:
    """How a stored proxy is shown: its URL with the password (if it has one) as `****`."""
    return redact(proxy_url(scheme, host, port, username, "x" if has_password else None)) or ""


def connector(url: str, **options) -> ProxyConnector:
    """An aiohttp connector whose every connection goes through the proxy at `url`."""
    parts = urlsplit(url)
    if parts.scheme not in _TYPES or not parts.hostname or not parts.port:
        raise ValueError("an egress proxy URL is scheme://host:port with scheme http, https or socks5")
    return ProxyConnector(
        proxy_type=_TYPES[parts.scheme],
        host=parts.hostname,
        port=parts.port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        rdns=True,  # the proxy resolves the upstream's name: no DNS query leaves directly either
        proxy_ssl=ssl.create_default_context() if parts.scheme == "https" else None,
        **options,
    )


def playwright_proxy(url: str) -> dict[str, str]:
    """Playwright's `proxy` option for the proxy at `url` (Chromium takes the credentials apart;
    it cannot authenticate to a SOCKS5 proxy, so a SOCKS5 one for a browser must need none)."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    # `<-loopback>`: not even a loopback address bypasses the proxy (Chromium's implicit rule).
    option = {"server": f"{parts.scheme}://{host}:{parts.port}", "bypass": "<-loopback>"}
    if parts.username:
        option["username"] = unquote(parts.username)
        option["password"] = unquote(parts.password or "")
    return option


# The proxy worked but could not reach the upstream: SOCKS5 replies 3-6 (network or host unreachable,
# connection refused, TTL expired) and an HTTP proxy's 502/504. That is the upstream's failure.
_DESTINATION_FAILURES = frozenset({3, 4, 5, 6, 502, 504})


def _proxy_exception(exc: BaseException) -> BaseException | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, PROXY_EXCEPTIONS):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def is_destination_failure(exc: BaseException) -> bool:
    """Whether the proxy answered that the upstream behind it could not be reached."""
    found = _proxy_exception(exc)
    return isinstance(found, ProxyError) and getattr(found, "error_code", None) in _DESTINATION_FAILURES


def is_proxy_failure(exc: BaseException) -> bool:
    """Whether the proxy itself failed (could not be reached, refused the tunnel or the credentials)."""
    return _proxy_exception(exc) is not None and not is_destination_failure(exc)


def describe_failure(exc: BaseException) -> str:
    """A short reason for a proxy failure (no URL or credential in it)."""
    found = _proxy_exception(exc)
    if found is None:
        return exc.__class__.__name__
    return f"{found.__class__.__name__}: {str(found).split(' [', 1)[0]}"[:300]


class EgressSessions:
    """One aiohttp session per proxy URL, made on first use; `close()` closes them all.

    `make(connector)` builds a session around a connector, so each proxy's session has the same
    timeouts and options as the direct one."""

    def __init__(
        self, make: Callable[[aiohttp.BaseConnector], aiohttp.ClientSession], **connector_options
    ) -> None:
        self._make = make
        self._options = connector_options
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, url: str) -> aiohttp.ClientSession:
        session = self._sessions.get(url)
        if session is None or session.closed:
            session = self._make(connector(url, **self._options))
            self._sessions[url] = session
        return session

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()
