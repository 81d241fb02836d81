"""Stand-ins at the relay's process boundaries: the upstream HTTP session and its responses, the
allocation client, the usage publisher, and the ASGI server's `receive`/`send`."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson

from services.proxy_service.formats import CLAUDE, ClientFormat
from services.proxy_service.relay.attempt import Attempt, AttemptDeps
from services.proxy_service.relay.lease import Leases
from services.proxy_service.relay.request import ClientRequest
from services.proxy_service.upstreams.custom_api import CustomApiUpstream
from shared.errors import NoAccountAvailable
from shared.internal_client import Allocation, Upstream

WAIT_FOR_CLOSE = object()
HANG = object()  # a `post` that never answers


class FakeContent:
    """Stands in for aiohttp's StreamReader: yields chunks, raises exceptions, or waits to be closed."""

    def __init__(self, items: list[Any], closed: asyncio.Event) -> None:
        self._items = items
        self._closed = closed

    async def readany(self) -> bytes:
        if not self._items:
            return b""
        item = self._items.pop(0)
        if item is WAIT_FOR_CLOSE:
            await self._closed.wait()
            raise aiohttp.ClientConnectionError("Connection closed")
        if isinstance(item, BaseException):
            raise item
        return item


class FakeUpstreamResponse:
    """An aiohttp ClientResponse: a status, headers, and either a body or stream items."""

    def __init__(
        self,
        items: list[Any] | None = None,
        *,
        status: int = 200,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.headers = {"content-type": "application/json", **(headers or {})}
        self._body = body
        self._closed = asyncio.Event()
        self.content = FakeContent(list(items or []), self._closed)
        self.released = False

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def read(self) -> bytes:
        return self._body

    def close(self) -> None:
        self._closed.set()

    def release(self) -> None:
        self.released = True


class Recorder:
    """The usage publisher: keeps every `usage.recorded` event."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def record(self, event: Any) -> None:
        self.events.append(event)


def allocation(account_id: str = "acc-1", fmt: str = "claude") -> Allocation:
    return Allocation(
        lease_id=f"lease-{account_id}",
        api_key_id="key-1",
        user_id="user-1",
        account_id=account_id,
        account_kind="custom_api",
        region=None,
        upstream=Upstream(url=f"http://{account_id}", credential="c", format=fmt, provider=None, model=None),
    )


def make_attempt(
    recorder: Recorder,
    fmt: ClientFormat = CLAUDE,
    model: str = "claude-sonnet-4",
    leases: Leases | None = None,
) -> Attempt:
    raw = b'{"model":"%s","messages":[],"max_tokens":5,"stream":true}' % model.encode()
    request = ClientRequest(api_key="pg", raw=raw, body=orjson.loads(raw))
    deps = AttemptDeps(
        session=None,  # type: ignore[arg-type]
        usage=recorder,  # type: ignore[arg-type]
        leases=leases or Leases(FakeInternal()),  # type: ignore[arg-type]
        first_byte_timeout_s=5.0,
    )
    attempt = Attempt(deps, allocation(), CustomApiUpstream(), request, fmt)
    attempt.first_byte = attempt.started + 0.001
    return attempt


class FakeInternal:
    """account_service's allocation: the first account of a preferred format not excluded, else of
    any allowed format, or a refusal (with `retry_after` when one is set). `calls` records each
    allocation's preferred formats and exclusions."""

    def __init__(self, *accounts: tuple[str, str], retry_after: float | None = None) -> None:
        self.accounts = list(accounts)  # (account id, format)
        self.retry_after = retry_after
        self.calls: list[tuple[list[str], list[str]]] = []
        self.released: list[tuple[str, str]] = []  # leases released by allocations or settle calls
        self.retries: list[bool] = []  # each allocation's `retry` (not the call's first attempt)
        self.sessions: list[tuple[str | None, bool]] = []  # each allocation's sticky session, lookup

    async def allocate(
        self,
        *,
        api_key: str,
        capability: str,
        model: str,
        formats: list[str],
        exclude: list[str],
        release: list[tuple[str, str]] | None = None,
        prefer: list[str] | None = None,
        retry: bool = False,
        session: str | None = None,
        session_lookup: bool = True,
    ) -> Allocation:
        self.calls.append((list(prefer or ()), list(exclude)))
        self.retries.append(retry)
        self.sessions.append((session, session_lookup))
        self.released += release or []
        for allowed in (prefer or formats, formats):
            for account_id, fmt in self.accounts:
                if fmt in allowed and account_id not in exclude:
                    return allocation(account_id, fmt)
        raise NoAccountAvailable("nothing left", retry_after=self.retry_after)

    async def settle_leases(
        self, *, release: list[tuple[str, str]] | None = None, renew: list[tuple[str, str]] | None = None
    ) -> int:
        self.released += release or []
        return len(renew or [])


class FakeSession:
    """The upstream session: each account answers from its script, in order, then with its last answer."""

    def __init__(self, scripts: dict[str, list[Any]]) -> None:
        self.scripts = scripts
        self.posts: list[str] = []

    async def post(self, url: str, **_: Any) -> FakeUpstreamResponse:
        account_id = url.split("/")[2]
        self.posts.append(account_id)
        script = self.scripts[account_id]
        answer = script.pop(0) if len(script) > 1 else script[0]
        if answer is HANG:
            await asyncio.Event().wait()
        if isinstance(answer, BaseException):
            raise answer
        return answer() if callable(answer) else answer


class Client:
    """The ASGI server's side of one response: what was sent, and a client that may leave."""

    def __init__(self, *, leave_after_s: float | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self._leave_after_s = leave_after_s

    async def receive(self) -> dict[str, Any]:
        if self._leave_after_s is None:
            await asyncio.Event().wait()
        await asyncio.sleep(self._leave_after_s)
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    async def run(self, response: Any) -> list[dict[str, Any]]:
        await response({"type": "http"}, self.receive, self.send)
        return self.sent

    @property
    def starts(self) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == "http.response.start"]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
