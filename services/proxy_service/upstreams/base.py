"""The one interface every upstream kind implements, and the shapes it hands to the relay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from services.proxy_service.formats import Bridge, ClientFormat
from shared.internal_client import Allocation

if TYPE_CHECKING:
    from services.proxy_service.relay.media_request import MediaRequest
    from services.proxy_service.relay.request import ClientRequest


class UnsupportedUpstream(Exception):
    """This account cannot take this call at all (a kind or format the proxy cannot drive)."""


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    headers: dict[str, str]
    # The operator's own configured host (the jimeng-api server), which may be on the private
    # network: not held to the SSRF guard. Every account-supplied URL is.
    trusted: bool = False
    # The egress proxy the call must go through (never directly when set): the account's, for the
    # kinds that connect to their upstream themselves. A Dreamina call goes to jimeng-api, which
    # takes the proxy in the token instead (upstreams/dreamina/auth.py).
    egress: str | None = None


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """What to send for one attempt, and the bridge that reads the answer back. `first_byte_timeout_s`:
    this call's own limit for the answer's headers (None: the proxy's default)."""

    target: Target
    body: bytes
    bridge: Bridge
    first_byte_timeout_s: float | None = None


class Upstream(Protocol):
    """One kind of account (`custom_api`, `kiro`, ...), built once at start with its settings.

    `capabilities`: what its accounts are allocated for (chat, image, video); `formats`: the
    allocation formats of its accounts; `reports_quota`: whether its answers carry rate-limit
    headers (OpenAI `x-ratelimit-*`, Anthropic `anthropic-ratelimit-*`); `preferred(fmt)`: those
    worth asking for first for a client in `fmt` (pass-through, or an account native to the
    canonical model).
    `prepare` raises `UnsupportedUpstream`/`UnsupportedConversion` when the account cannot take
    the call, and a `PoolGateError` for a request that no account could take (the client's fault)."""

    kind: str
    capabilities: tuple[str, ...]
    formats: tuple[str, ...]
    reports_quota: bool

    def preferred(self, fmt: ClientFormat) -> tuple[str, ...]: ...

    def prepare(
        self,
        allocation: Allocation,
        req: ClientRequest | MediaRequest,
        fmt: ClientFormat,
        *,
        correlation_id: str | None,
    ) -> UpstreamCall: ...
