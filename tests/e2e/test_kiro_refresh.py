"""Kiro credential refresh through the whole stack: account_service publishes the trigger, the
refresh_worker refreshes at the token's own region's auth host (the fake Kiro), stores the result
through the internal API and announces it.

The fake names a token's *lineage* by its first refresh token and rotates it on every refresh, so
a refresh made with a stale token shows up as an `invalid_grant` on the lineage. Every test uses
tokens and users of its own: the stack is shared with the other end-to-end tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import asyncpg
import httpx
import pytest

from shared.messages import Envelope
from shared.messages.broker import BATCH_CONTENT_TYPE
from shared.settings import DEV_SERVICE_TOKEN
from tests.e2e.conftest import Stack
from tests.support.processes import free_port, spawn, wait_ready

pytestmark = pytest.mark.e2e
SERVICE = {"authorization": f"Bearer {DEV_SERVICE_TOKEN}"}
MODEL = "claude-sonnet-4-6"


def _retry_budget_s(stack: Stack) -> float:
    """How long the worker's broker needs to use up every attempt of one message, with slack."""
    delay_s = int(stack.env.get("POOLGATE_RETRY_DELAY_MS", "5000")) / 1000
    attempts = int(stack.env.get("POOLGATE_MAX_ATTEMPTS", "5"))
    return delay_s * attempts + 15


class Events:
    """`account.refreshed` / `account.refresh_failed` as they cross the exchange."""

    def __init__(self, queue: aio_pika.abc.AbstractQueue) -> None:
        self.seen: list[Envelope] = []
        self._queue = queue

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            batch = message.content_type == BATCH_CONTENT_TYPE
            self.seen.extend(Envelope.many_from_bytes(message.body, batch=batch))

    def of(self, account_id: str) -> list[Envelope]:
        return [e for e in self.seen if e.data.get("account_id") == account_id]

    async def until(self, predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not predicate():
                await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def _events(stack: Stack) -> AsyncIterator[Events]:
    connection = await aio_pika.connect(stack.env["POOLGATE_AMQP_URL"])
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(stack.env["POOLGATE_EVENTS_EXCHANGE"])
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for key in ("account.refreshed", "account.refresh_failed"):
            await queue.bind(exchange, routing_key=key)
        events = Events(queue)
        await queue.consume(events.on_message)
        yield events


class Kiro:
    """The stack's fake Kiro and account_service, as one test sees them."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.fake = httpx.AsyncClient(base_url=stack.kiro_url, timeout=10)
        self.accounts = httpx.AsyncClient(base_url=stack.account_service_url, timeout=10)

    async def aclose(self) -> None:
        await self.fake.aclose()
        await self.accounts.aclose()

    async def user(self) -> tuple[str, dict[str, str]]:
        """A new user's PoolGate key and the header that authenticates as them."""
        name = f"kiro-{uuid.uuid4().hex[:6]}"
        await asyncio.to_thread(self.stack.cli, "users", "create", name)
        key = await asyncio.to_thread(self.stack.cli, "keys", "create", "--user", name)
        return key, {"authorization": f"Bearer {key}"}

    async def lineage(self, token: str, region: str, auth: str = "social", **client: str) -> None:
        """Register the token with the fake: refreshable only at its own region's host."""
        body = {"refresh_token": token, "region": region, "auth": auth, **client}
        (await self.fake.post("/_fake/kiro/lineages", json=body)).raise_for_status()

    async def lineage_view(self, token: str) -> dict[str, Any]:
        response = await self.fake.get(f"/_fake/kiro/lineages/{token}")
        response.raise_for_status()
        return response.json()

    async def script(self, token: str, **script: Any) -> None:
        response = await self.fake.post(f"/_fake/kiro/scripts/{token}", json=script)
        response.raise_for_status()

    async def refresh_calls(self, token: str) -> list[dict[str, Any]]:
        """The fake's log of refresh calls made with this lineage's tokens."""
        logged = (await self.fake.get("/_fake/requests")).json()
        return [
            entry
            for entry in logged
            if "kiro" in entry
            and isinstance(entry.get("body"), dict)
            and str(entry["body"].get("refreshToken", "")).split(".r")[0] == token
        ]

    async def add(self, auth: dict[str, str], token: str, region: str, **extra: str) -> str:
        body = {"refresh_token": token, "region": region, **extra}
        response = await self.accounts.post("/api/v1/accounts/kiro", headers=auth, json=body)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "pending"
        return response.json()["id"]

    async def account(self, auth: dict[str, str], account_id: str) -> dict[str, Any]:
        response = await self.accounts.get(f"/api/v1/accounts/{account_id}", headers=auth)
        response.raise_for_status()
        return response.json()

    async def until_status(
        self, auth: dict[str, str], account_id: str, status: str, timeout_s: float = 20.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            account = await self.account(auth, account_id)
            if account["status"] == status:
                return account
            assert time.monotonic() < deadline, f"still {account['status']}: {account['status_reason']}"
            await asyncio.sleep(0.1)

    async def request_refresh(self, auth: dict[str, str], account_id: str) -> None:
        response = await self.accounts.post(f"/api/v1/accounts/{account_id}/refresh", headers=auth)
        assert response.status_code == 202, response.text

    async def allocate(self, key: str) -> httpx.Response:
        return await self.accounts.post(
            "/internal/v1/allocations", headers=SERVICE, json={"api_key": key, "model": MODEL}
        )


@pytest.fixture
async def kiro(stack: Stack) -> AsyncIterator[Kiro]:
    kiro = Kiro(stack)
    yield kiro
    await kiro.aclose()


def _token(label: str) -> str:
    return f"rt-{label}-{uuid.uuid4().hex[:10]}"


def _assert_fresh_expiry(account: dict[str, Any]) -> None:
    """The fake's tokens live 3600 s; PoolGate keeps them until 60 s before that."""
    expires_at = datetime.fromisoformat(account["credential_expires_at"])
    expected = datetime.now(UTC) + timedelta(seconds=3600 - 60)
    assert abs((expires_at - expected).total_seconds()) < 60, expires_at


async def test_tokens_of_three_regions_are_each_refreshed_at_their_own_regions_auth_host(kiro: Kiro):
    key, auth = await kiro.user()
    cases = [
        ("us-east-1", "social", {}),
        ("ap-southeast-1", "social", {}),
        ("eu-west-1", "social", {}),
        ("eu-west-1", "idc", {"client_id": f"cid-{uuid.uuid4().hex[:6]}", "client_secret": "idc-secret"}),
        (
            "ap-southeast-1",
            "idc",
            {"client_id": f"cid-{uuid.uuid4().hex[:6]}", "client_secret": "idc-secret"},
        ),
    ]
    tokens = [_token(f"{region}-{kind}") for region, kind, _ in cases]
    async with _events(kiro.stack) as events:
        ids = []
        for token, (region, kind, client) in zip(tokens, cases, strict=True):
            # A registered lineage answers invalid_grant at any other region's host.
            await kiro.lineage(token, region, kind, **client)
            ids.append(await kiro.add(auth, token, region, **client))
        for token, account_id, (region, kind, _) in zip(tokens, ids, cases, strict=True):
            account = await kiro.until_status(auth, account_id, "active")
            assert account["region"] == region
            _assert_fresh_expiry(account)
            calls = await kiro.refresh_calls(token)
            host = "auth" if kind == "social" else "oidc"
            assert [c["kiro"] for c in calls] == [{"host": host, "region": region}]
            if kind == "idc":
                body = calls[0]["body"]
                assert body["grantType"] == "refresh_token" and body["clientSecret"] == "idc-secret"
                assert set(body) == {"clientId", "clientSecret", "grantType", "refreshToken"}
            else:
                assert calls[0]["body"] == {"refreshToken": token}
                # The social answer's profileArn is stored with the account.
                assert account["settings"]["profile_arn"] == (
                    f"arn:aws:codewhisperer:{region}:699475941385:profile/FAKE"
                )
            lineage = await kiro.lineage_view(token)
            assert (lineage["refresh_count"], lineage["invalid_grants"]) == (1, 0)
        await events.until(lambda: all(events.of(i) for i in ids))
    for account_id in ids:
        assert [e.type for e in events.of(account_id)] == ["account.refreshed"]
    assert (await kiro.allocate(key)).status_code == 200

    # A second refresh uses the rotated token, again at the token's own host.
    await kiro.request_refresh(auth, ids[1])
    async with asyncio.timeout(20):
        while (await kiro.lineage_view(tokens[1]))["refresh_count"] < 2:
            await asyncio.sleep(0.1)
    calls = await kiro.refresh_calls(tokens[1])
    assert [c["body"]["refreshToken"] for c in calls] == [tokens[1], f"{tokens[1]}.r1"]
    assert {c["kiro"]["region"] for c in calls} == {"ap-southeast-1"}


async def test_a_token_refused_with_invalid_grant_ends_invalid_and_is_never_allocated(kiro: Kiro):
    key, auth = await kiro.user()
    token = _token("revoked")
    await kiro.lineage(token, "eu-west-1")
    (await kiro.fake.post(f"/_fake/kiro/lineages/{token}/revoke")).raise_for_status()
    async with _events(kiro.stack) as events:
        account_id = await kiro.add(auth, token, "eu-west-1")
        account = await kiro.until_status(auth, account_id, "invalid")
        await events.until(lambda: bool(events.of(account_id)))
    assert "invalid_grant" in account["status_reason"]
    assert "Invalid refresh token provided" in account["status_reason"]
    assert account["credential_expires_at"] is None
    failed = events.of(account_id)
    assert [(e.type, e.data["final"]) for e in failed] == [("account.refresh_failed", True)]
    assert "invalid_grant" in failed[0].data["reason"]
    # The user's only account is dead: no allocation hands it out, now or after a moment.
    for _ in range(3):
        refused = await kiro.allocate(key)
        assert refused.status_code == 503, refused.text
        await asyncio.sleep(0.3)
    # One refresh call, no retries: a dead credential is not transient.
    assert len(await kiro.refresh_calls(token)) == 1


async def test_rate_limited_twice_then_the_refresh_succeeds_through_the_retry_queue(kiro: Kiro):
    _, auth = await kiro.user()
    token = _token("throttled")
    await kiro.lineage(token, "ap-southeast-1")
    await kiro.script(token, target="auth", status=429, times=2)
    async with _events(kiro.stack) as events:
        account_id = await kiro.add(auth, token, "ap-southeast-1")
        account = await kiro.until_status(auth, account_id, "active", timeout_s=_retry_budget_s(kiro.stack))
        await events.until(lambda: any(e.type == "account.refreshed" for e in events.of(account_id)))
    _assert_fresh_expiry(account)
    assert [(e.type, e.data.get("final")) for e in events.of(account_id)] == [
        ("account.refresh_failed", False),
        ("account.refresh_failed", False),
        ("account.refreshed", None),
    ]
    assert "429" in events.of(account_id)[0].data["reason"]
    calls = await kiro.refresh_calls(token)
    assert len(calls) == 3 and {c["kiro"]["region"] for c in calls} == {"ap-southeast-1"}
    # The retries waited in the retry queue rather than hammering the auth host.
    assert (
        calls[1]["ts"] - calls[0]["ts"]
        >= 0.8 * int(kiro.stack.env.get("POOLGATE_RETRY_DELAY_MS", "5000")) / 1000
    )
    lineage = await kiro.lineage_view(token)
    assert (lineage["refresh_count"], lineage["invalid_grants"]) == (1, 0)


async def _dead_letters(stack: Stack, account_id: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """This account's messages in the worker's dead-letter queue (others are left where they are)."""
    connection = await aio_pika.connect(stack.env["POOLGATE_AMQP_URL"])
    async with connection:
        channel = await connection.channel()
        name = f"{stack.env['POOLGATE_QUEUE_PREFIX']}.refresh_worker.accounts.dead"
        queue = await channel.declare_queue(name, durable=True, passive=True)
        found = []
        # Unacknowledged gets go back to the queue when the channel closes.
        while (message := await queue.get(fail=False)) is not None:
            if Envelope.from_bytes(message.body).data.get("account_id") == account_id:
                found.append(message)
        return found


async def test_a_permanent_server_error_is_dead_lettered_and_announced_while_the_account_keeps_its_state(
    kiro: Kiro,
):
    key, auth = await kiro.user()
    token = _token("down")
    await kiro.lineage(token, "us-east-1")
    account_id = await kiro.add(auth, token, "us-east-1")
    before = await kiro.until_status(auth, account_id, "active")

    await kiro.script(token, target="auth", status=500)
    try:
        async with _events(kiro.stack) as events:
            await kiro.request_refresh(auth, account_id)
            await events.until(
                lambda: any(e.data.get("final") for e in events.of(account_id)),
                timeout_s=_retry_budget_s(kiro.stack),
            )
    finally:
        await kiro.script(token)
    attempts = int(kiro.stack.env.get("POOLGATE_MAX_ATTEMPTS", "5"))
    failed = events.of(account_id)
    assert [e.data["final"] for e in failed] == [False] * attempts + [True]
    assert f"gave up after {attempts} attempts" in failed[-1].data["reason"]
    assert "500" in failed[-1].data["reason"]
    assert len(await kiro.refresh_calls(token)) == 1 + attempts
    assert [m.headers["x-poolgate-attempt"] for m in await _dead_letters(kiro.stack, account_id)] == [
        attempts
    ]

    after = await kiro.account(auth, account_id)
    assert after["status"] == "active"
    assert after["credential_expires_at"] == before["credential_expires_at"]
    assert after["secrets"] == before["secrets"]
    assert (await kiro.allocate(key)).status_code == 200


@pytest.fixture
async def second_worker(stack: Stack, tmp_path) -> AsyncIterator[Any]:
    """Another refresh_worker process on the same queue, stopped after the test."""
    port = free_port()
    proc = spawn(
        "refresh_worker_2",
        ["-m", "services.refresh_worker"],
        env={**stack.env, "POOLGATE_REFRESH_WORKER_PORT": str(port)},
        log_dir=tmp_path,
    )
    try:
        await asyncio.to_thread(wait_ready, proc, f"http://127.0.0.1:{port}/readyz")
        yield proc
    finally:
        await asyncio.to_thread(proc.stop)


async def test_two_workers_never_refresh_one_account_at_the_same_time(kiro: Kiro, second_worker):
    _, auth = await kiro.user()
    token = _token("contended")
    await kiro.lineage(token, "eu-west-1")
    account_id = await kiro.add(auth, token, "eu-west-1")
    await kiro.until_status(auth, account_id, "active")
    # Each refresh takes a while, so unserialised refreshes would surely overlap (and the later one
    # would present a refresh token the earlier one had already rotated away).
    await kiro.script(token, target="auth", delay_ms=150)
    requests = 16
    try:
        async with _events(kiro.stack) as events:
            await asyncio.gather(*(kiro.request_refresh(auth, account_id) for _ in range(requests)))
            await events.until(lambda: len(events.of(account_id)) >= requests, timeout_s=requests * 0.5 + 20)
    finally:
        await kiro.script(token)
    assert {e.type for e in events.of(account_id)} == {"account.refreshed"}
    lineage = await kiro.lineage_view(token)
    assert lineage["invalid_grants"] == 0
    assert lineage["refresh_count"] == 1 + requests
    # Every refresh presented the token the one before it had rotated to, and stored its successor.
    await kiro.until_status(auth, account_id, "active")
    # No two refresh calls overlapped: each began after the previous one was answered.
    calls = sorted(await kiro.refresh_calls(token), key=lambda c: c["ts"])
    assert all(b["ts"] - a["ts"] >= 0.14 for a, b in itertools.pairwise(calls[1:]))
    # Both workers took part.
    first_worker = next(p for p in kiro.stack.processes if p.name == "refresh_worker")
    for proc in (first_worker, second_worker):
        done = [
            line for line in proc.logs().splitlines() if "kiro.refresh.done" in line and account_id in line
        ]
        assert done, f"{proc.name} refreshed nothing"


async def test_force_refresh_all_is_a_job_whose_queued_refreshes_the_worker_carries_out(kiro: Kiro):
    _, auth = await kiro.user()
    tokens = [_token(f"job-{n}") for n in range(3)]
    ids = []
    for token in tokens:
        await kiro.lineage(token, "us-east-1")
        ids.append(await kiro.add(auth, token, "us-east-1"))
    for account_id in ids:
        await kiro.until_status(auth, account_id, "active")  # validated by a first refresh

    started = await kiro.accounts.post("/api/v1/accounts/refresh", headers=auth, json={"scope": "all"})
    assert started.status_code == 202, started.text
    async with asyncio.timeout(20):
        while (job := (await kiro.accounts.get(started.headers["location"], headers=auth)).json())[
            "status"
        ] != "finished":
            await asyncio.sleep(0.1)
    assert (job["total"], job["queued"], job["skipped"]) == (3, 3, 0)
    assert {item["account_id"] for item in job["items"]} == set(ids)
    # Queued is not done: the worker then refreshes each one, with its rotated token.
    async with asyncio.timeout(20):
        while [(await kiro.lineage_view(t))["refresh_count"] for t in tokens] != [2, 2, 2]:
            await asyncio.sleep(0.1)
    for token in tokens:
        assert [c["body"]["refreshToken"] for c in await kiro.refresh_calls(token)] == [token, f"{token}.r1"]


async def test_each_refresh_is_recorded_as_the_accounts_last_check(kiro: Kiro):
    _, auth = await kiro.user()
    good, revoked = _token("checked"), _token("checked-revoked")
    for token in (good, revoked):
        await kiro.lineage(token, "us-east-1")
    (await kiro.fake.post(f"/_fake/kiro/lineages/{revoked}/revoke")).raise_for_status()
    good_id = await kiro.add(auth, good, "us-east-1")
    revoked_id = await kiro.add(auth, revoked, "us-east-1")
    await kiro.until_status(auth, good_id, "active")
    await kiro.until_status(auth, revoked_id, "invalid")
    conn = await asyncpg.connect(kiro.stack.env["POOLGATE_DATABASE_URL"])
    try:

        async def last_check(account_id: str):
            return await conn.fetchrow(
                "SELECT last_check_at, last_check_ok, last_check_kind, last_check_reason FROM accounts"
                " WHERE id = $1",
                uuid.UUID(account_id),
            )

        deadline = time.monotonic() + 20
        for account_id in (good_id, revoked_id):  # each is recorded just after its status changed
            while (await last_check(account_id))["last_check_at"] is None:
                assert time.monotonic() < deadline, "a refresh was never recorded"
                await asyncio.sleep(0.1)
        ok, dead = await last_check(good_id), await last_check(revoked_id)
    finally:
        await conn.close()
    assert (ok["last_check_kind"], ok["last_check_ok"], ok["last_check_reason"]) == (
        "refresh",
        True,
        "access token refreshed",
    )
    assert (dead["last_check_kind"], dead["last_check_ok"]) == ("refresh", False)
    assert "invalid_grant" in dead["last_check_reason"]
