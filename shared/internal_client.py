"""Client for account_service's internal API (`/internal/v1/...`), used by the proxy and the worker.

The proxy's calls on the path of every client call (allocations, lease releases, the pool's models)
go over the allocation channel (`shared/channel.py`) when one is given; everything else, and those
calls without a channel, over HTTP with aiohttp, a keep-alive pool and orjson rather than httpx (see
DESIGN.md §9 for the measured difference).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from shared.channel import UNREACHABLE, ChannelClient
from shared.errors import DependencyUnavailable, answered
from shared.logging import CORRELATION_HEADER, get_correlation_id

_FIRST_RETRY_S = 0.1
_MAX_RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class Upstream:
    url: str
    credential: str
    format: str
    provider: str | None
    model: str | None  # the account's model override, if any
    # Kiro: the token's region (auth host), the chat host's region and the profile ARN.
    region: str | None = None
    api_region: str | None = None
    profile_arn: str | None = None
    # The account's egress proxy (shared/egress.py): its URL with credentials, and its id for the
    # attempt's usage record. None: the account connects directly.
    proxy: str | None = field(default=None, repr=False)
    egress_proxy_id: str | None = None


@dataclass(frozen=True, slots=True)
class Allocation:
    lease_id: str
    api_key_id: str
    user_id: str
    account_id: str
    account_kind: str
    region: str | None
    upstream: Upstream

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Allocation:
        account, key = body["account"], body["key"]
        return cls(
            lease_id=body["lease_id"],
            api_key_id=key["id"],
            user_id=key["user_id"],
            account_id=account["id"],
            account_kind=account["kind"],
            region=account.get("region"),
            upstream=Upstream(**body["upstream"]),
        )


@dataclass(frozen=True, slots=True)
class PoolModels:
    """The chat models a key's pool can serve; `any_model`: some account takes any model name."""

    models: tuple[str, ...]
    any_model: bool


class InternalClient:
    def __init__(
        self,
        base_url: str,
        service_token: str,
        *,
        pool_size: int = 256,
        timeout_s: float = 10.0,
        unreachable_wait_s: float = 0.0,
        channel: ChannelClient | None = None,
    ) -> None:
        """`unreachable_wait_s`: how long a request waits for account_service while it cannot be
        connected to (or something in front of it answers for it), trying again every few hundred
        ms. Only requests that never reached it are sent again, so nothing is done twice."""
        self._base = base_url.rstrip("/")
        self._unreachable_wait_s = unreachable_wait_s
        self._auth = f"Bearer {service_token}"
        self._pool_size = pool_size
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._channel = channel

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300),
            timeout=self._timeout,
            json_serialize=lambda o: orjson.dumps(o).decode(),
            cookie_jar=aiohttp.DummyCookieJar(),  # peers set none; a jar costs a look-up per call
        )

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, path: str, payload: Any = None) -> Any:
        return await self._waiting(lambda: self._request(method, path, payload))

    async def _hot(self, call: str, path: str, payload: Any) -> Any:
        """A call on the path of every client call: over the channel if there is one."""
        if self._channel is None:
            return await self.request("POST", path, payload)
        channel = self._channel
        return await self._waiting(lambda: channel.call(call, payload, correlation_id=get_correlation_id()))

    async def _waiting(self, send: Callable[[], Awaitable[Any]]) -> Any:
        if self._unreachable_wait_s <= 0:
            return await send()
        deadline = time.monotonic() + self._unreachable_wait_s
        delay = _FIRST_RETRY_S
        while True:
            try:
                return await send()
            except DependencyUnavailable as err:
                left = deadline - time.monotonic()
                if err.code != UNREACHABLE or left <= 0:
                    raise
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, _MAX_RETRY_S)

    async def _request(self, method: str, path: str, payload: Any) -> Any:
        headers = {"authorization": self._auth, "content-type": "application/json"}
        cid = get_correlation_id()
        if cid:
            headers[CORRELATION_HEADER] = cid
        data = orjson.dumps(payload) if payload is not None else None
        try:
            async with self._session.request(method, self._base + path, data=data, headers=headers) as resp:
                body = await resp.read()
                status = resp.status
        except aiohttp.ClientConnectorError as exc:  # not connected: the request was never sent
            raise DependencyUnavailable(
                f"account_service unreachable: {exc.__class__.__name__}", code=UNREACHABLE, retry_after=1
            ) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DependencyUnavailable(
                f"account_service unreachable: {exc.__class__.__name__}", retry_after=1
            ) from exc
        try:
            parsed = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:  # not account_service answering (a proxy in front, say)
            raise DependencyUnavailable(
                f"account_service answered {status} without JSON", code=UNREACHABLE, retry_after=1
            ) from None
        if status >= 400:
            raise answered(status, parsed)
        return parsed

    async def allocate(
        self,
        *,
        api_key: str,
        capability: str,
        model: str | None,
        formats: list[str] | None = None,
        exclude: list[str] | None = None,
        release: list[tuple[str, str]] | None = None,
        prefer: list[str] | None = None,
        retry: bool = False,
        session: str | None = None,
        session_lookup: bool = True,
    ) -> Allocation:
        """An account and its lease. `release`: (account_id, lease_id) pairs released first;
        `prefer`: formats chosen from first, the other `formats` only when none of these is free;
        `retry`: another attempt of a call already allocated once (the key's limits count it once);
        `session`: the conversation's sticky-session key, looked up only with `session_lookup` (else
        only recorded; proxy relay/session.py)."""
        payload = {
            "api_key": api_key,
            "capability": capability,
            "model": model,
            "formats": formats,
            "exclude": exclude or [],
        }
        if release:
            payload["release"] = release
        if prefer:
            payload["prefer"] = prefer
        if retry:
            payload["retry"] = True
        if session is not None:
            payload["session"] = session
            payload["session_lookup"] = session_lookup
        return Allocation.from_json(await self._hot("allocate", "/internal/v1/allocations", payload))

    async def settle_leases(
        self, *, release: list[tuple[str, str]] | None = None, renew: list[tuple[str, str]] | None = None
    ) -> int:
        """Release finished leases and renew running ones; returns how many were renewed."""
        body = await self._hot(
            "leases", "/internal/v1/leases", {"release": release or [], "renew": renew or []}
        )
        return int(body["renewed"])

    async def models(self, api_key: str) -> PoolModels:
        """The chat models the key's pool can serve; authenticates the key like `allocate`."""
        body = await self._hot("models", "/internal/v1/models", {"api_key": api_key})
        return PoolModels(models=tuple(body["models"]), any_model=bool(body["any_model"]))

    async def account_credentials(self, account_id: str) -> dict[str, Any]:
        """An account's kind, region, settings and decrypted secrets (the worker's read)."""
        return await self.request("GET", f"/internal/v1/accounts/{account_id}/credentials")

    async def store_credentials(
        self,
        account_id: str,
        *,
        expires_at: str | None,
        secrets: dict[str, str],
        settings: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Store renewed credentials; a pending account becomes active."""
        return await self.request(
            "PUT",
            f"/internal/v1/accounts/{account_id}/credentials",
            {"expires_at": expires_at, "secrets": secrets, "settings": settings or {}},
        )

    async def record_check(
        self,
        account_id: str,
        *,
        kind: str,
        ok: bool,
        reason: str | None,
        checked_at: str,
        credits: int | None = None,
        credits_read_at: str | None = None,
        usage_limits: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """What a credential check found (`kind`: refresh, revalidation or login), with the credits
        it read and when, or Kiro's `usage_limits` (remaining, limit, resets_at, read_at); a good
        check brings an account that was invalid back."""
        return await self.request(
            "POST",
            f"/internal/v1/accounts/{account_id}/checks",
            {
                "kind": kind,
                "ok": ok,
                "reason": reason,
                "checked_at": checked_at,
                "credits": credits,
                "credits_read_at": credits_read_at,
                "usage_limits": usage_limits,
            },
        )

    async def record_probe(
        self,
        account_id: str,
        *,
        at: str,
        ok: bool,
        latency_ms: int | None,
        status: int | None,
        method: str,
        detail: str | None,
    ) -> dict[str, Any]:
        """What a probe found; a healthy one brings a cooling or exhausted account back."""
        return await self.request(
            "POST",
            f"/internal/v1/accounts/{account_id}/probes",
            {
                "at": at,
                "ok": ok,
                "latency_ms": latency_ms,
                "status": status,
                "method": method,
                "detail": detail,
            },
        )

    async def reject_credential(self, account_id: str, *, reason: str) -> dict[str, Any]:
        """The credential is proven dead: the account becomes invalid with the reason."""
        return await self.request(
            "POST", f"/internal/v1/accounts/{account_id}/status", {"status": "invalid", "reason": reason}
        )

    async def ready(self) -> bool:
        try:
            async with self._session.get(self._base + "/healthz") as resp:
                return resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False
