"""The Dreamina browser login in real Chromium against the fake login page: the session it takes,
every failure reason the console shows, the three tries for timeouts only, and the browser cap
shared by replicas (a Redis semaphore)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from services.refresh_worker.dreamina import failures
from services.refresh_worker.dreamina.browser import LoginPageSettings, PlaywrightLogin
from services.refresh_worker.dreamina.failures import Session
from services.refresh_worker.dreamina.login import Login
from services.refresh_worker.dreamina.slots import BrowserSlots
from tests.fakes import dreamina_login

EMAIL = "someone@example.com"
PASSWORD = "correct horse"


@pytest.fixture
async def page() -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(dreamina_login.create_app())) as client:
        yield client


def _settings(page: TestClient, **overrides) -> LoginPageSettings:
    values = {
        "url": str(page.make_url("/ai-tool/home")),
        "executable": "/usr/bin/chromium",
        "page_timeout_s": 10.0,
        "step_timeout_s": 3.0,
        "cookie_wait_s": 3.0,
        "timeout_s": 60.0,
    }
    return LoginPageSettings(**(values | overrides))


@pytest.fixture
async def driver(page: TestClient) -> AsyncIterator[PlaywrightLogin]:
    driver = PlaywrightLogin(_settings(page))
    yield driver
    await driver.close()


async def _account(page: TestClient, *, outcome: str = "ok", sessionid: str = "", expires_in_s: int = 0):
    body = {"password": PASSWORD, "sessionid": sessionid, "outcome": outcome}
    if expires_in_s:
        body["expires_in_s"] = expires_in_s
    answer = await page.put(f"/_fake/dreamina/accounts/{EMAIL}", json=body)
    assert answer.status == 200, await answer.text()


async def _layout(page: TestClient, **layout) -> None:
    answer = await page.put("/_fake/dreamina/page", json=layout)
    assert answer.status == 200, await answer.text()


async def _log(page: TestClient) -> list[dict]:
    return await (await page.get("/_fake/dreamina/logins")).json()


@pytest.mark.parametrize("layout", ["create", "sign_in"])
async def test_the_flow_takes_the_sessionid_cookie_and_its_expiry(page, driver, layout):
    sessionid = uuid.uuid4().hex
    await _layout(page, layout=layout)
    await _account(page, sessionid=sessionid, expires_in_s=3 * 24 * 3600)

    session = await driver.login(EMAIL, PASSWORD)

    assert session.sessionid == sessionid
    expected = datetime.now(UTC) + timedelta(days=3)
    assert session.expires_at is not None and abs(session.expires_at - expected) < timedelta(minutes=1)
    assert [e["event"] for e in await _log(page)] == ["page", "login"]
    assert (await _log(page))[1] == {**(await _log(page))[1], "email": EMAIL, "outcome": "ok"}
    assert sessionid not in repr(session)


async def test_a_wrong_password_is_reported_with_what_the_page_says(page, driver):
    await _account(page, sessionid="unused")
    with pytest.raises(failures.WrongPassword) as failed:
        await driver.login(EMAIL, "not the password")
    assert failed.value.reason == "the page says: Incorrect email or password"
    assert not failed.value.transient
    assert "not the password" not in failed.value.reason


async def test_a_captcha_is_reported_as_verification_required(page, driver):
    await _account(page, outcome="captcha")
    with pytest.raises(failures.VerificationRequired) as failed:
        await driver.login(EMAIL, PASSWORD)
    assert failed.value.reason == "the page asks for a captcha or verification"


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("entry", "the Create menu item or the Sign in button"),
        ("continue_with_email", "the Continue with email option"),
        ("email_input", "the e-mail input"),
        ("password_input", "the password input"),
        ("continue_button", "the Continue button"),
    ],
)
async def test_a_missing_element_is_named_as_a_page_change(page, driver, missing, named):
    await _account(page, sessionid="unused")
    await _layout(page, missing=missing)
    with pytest.raises(failures.PageChanged) as failed:
        await driver.login(EMAIL, PASSWORD)
    assert failed.value.reason == f"the page changed: {named} not found"
    assert [e["event"] for e in await _log(page)] == ["page"], "nothing was posted"


async def test_no_sessionid_cookie_is_reported_after_the_wait(page, driver):
    await _account(page, outcome="no_cookie")
    with pytest.raises(failures.NoCookie) as failed:
        await driver.login(EMAIL, PASSWORD)
    assert failed.value.reason == "no sessionid cookie within 3 s after Continue"


async def test_a_page_that_never_loads_is_a_timeout(page):
    await _layout(page, hang_s=10)
    driver = PlaywrightLogin(_settings(page, page_timeout_s=1.0))
    try:
        with pytest.raises(failures.LoginTimeout) as failed:
            await driver.login(EMAIL, PASSWORD)
    finally:
        await driver.close()
    assert failed.value.reason == "the login page did not load within 1 s"
    assert failed.value.transient


async def test_a_missing_browser_is_reported_as_unavailable(page):
    driver = PlaywrightLogin(_settings(page, executable="/nonexistent/chromium"))
    try:
        with pytest.raises(failures.BrowserUnavailable) as failed:
            await driver.login(EMAIL, PASSWORD)
    finally:
        await driver.close()
    assert failed.value.reason.startswith("the browser did not start: ")


class _Spy:
    """A login driver that records its calls and passes them on."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[str] = []

    async def login(self, email: str, password: str, *, proxy: str | None = None) -> Session:
        self.calls.append(email)
        return await self.inner.login(email, password, proxy=proxy)


def _slots(redis: Redis, infra, limit: int = 2, **kwargs) -> BrowserSlots:
    key = f"{infra.redis_prefix}:test-slots:{uuid.uuid4().hex[:8]}"
    return BrowserSlots(redis, key, limit=limit, hold_s=kwargs.pop("hold_s", 60), wait_s=10, **kwargs)


async def test_timeouts_are_tried_three_times_and_other_failures_once(page, redis, infra):
    await _layout(page, hang_s=10)
    inner = PlaywrightLogin(_settings(page, page_timeout_s=0.5))
    spy = _Spy(inner)
    login = Login(spy, _slots(redis, infra), backoff_s=0.1)
    try:
        with pytest.raises(failures.LoginTimeout):
            await login.login(can_login=True, region="us", email=EMAIL, password=PASSWORD)
        assert len(spy.calls) == 3
        await _layout(page)
        await _account(page, outcome="captcha")
        with pytest.raises(failures.VerificationRequired):
            await login.login(can_login=True, region="us", email=EMAIL, password=PASSWORD)
        assert len(spy.calls) == 4
    finally:
        await inner.close()


@pytest.mark.parametrize(
    ("can_login", "region", "password"),
    [(False, "cn", "pw"), (True, "cn", "pw"), (True, "us", ""), (True, "jp", "   "), (False, "us", "pw")],
)
async def test_an_account_that_cannot_log_in_never_reaches_the_driver(
    redis, infra, can_login, region, password
):
    spy = _Spy(inner=None)
    login = Login(spy, _slots(redis, infra), backoff_s=0)
    with pytest.raises(failures.LoginNotAllowed):
        await login.login(can_login=can_login, region=region, email=EMAIL, password=password)
    assert spy.calls == []


class _Counting:
    """A driver that holds its browser a moment and records how many run at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0

    async def login(self, email: str, password: str, *, proxy: str | None = None) -> Session:
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.2)
        self.running -= 1
        return Session(sessionid="s", expires_at=None)


async def test_replicas_share_the_browser_cap(redis, infra):
    key = f"{infra.redis_prefix}:test-slots:{uuid.uuid4().hex[:8]}"
    driver = _Counting()
    # Two "replicas": their own semaphore objects over the one Redis key.
    replicas = [
        Login(driver, BrowserSlots(redis, key, limit=2, hold_s=60, wait_s=30, poll_s=0.02), backoff_s=0)
        for _ in range(2)
    ]
    await asyncio.gather(
        *(
            replicas[n % 2].login(can_login=True, region="us", email=f"{n}@example.com", password="pw")
            for n in range(8)
        )
    )
    assert driver.most == 2
    assert await redis.zcard(key) == 0, "every slot was released"


async def test_a_slot_held_by_a_crashed_worker_frees_itself(redis, infra):
    key = f"{infra.redis_prefix}:test-slots:{uuid.uuid4().hex[:8]}"
    crashed = BrowserSlots(redis, key, limit=1, hold_s=0.5, wait_s=1)
    held = crashed.slot()
    await held.__aenter__()  # taken and never released: the worker died with it
    waiting = BrowserSlots(redis, key, limit=1, hold_s=60, wait_s=0.2, poll_s=0.05)
    with pytest.raises(failures.NoBrowserSlot) as refused:
        async with waiting.slot():
            pass
    assert refused.value.reason == "no browser slot came free within 0.2 s (1 at once)"
    patient = BrowserSlots(redis, key, limit=1, hold_s=60, wait_s=5, poll_s=0.05)
    async with patient.slot():
        assert await patient.held() == 1
