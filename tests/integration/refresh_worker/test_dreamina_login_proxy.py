"""The Dreamina browser login through the account's egress proxy: real Chromium, through a real local
HTTP proxy that asks for credentials (Playwright answers its 407), and never directly: with the proxy
dead, the login fails instead of reaching the page."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from services.refresh_worker.dreamina.browser import PlaywrightLogin
from services.refresh_worker.dreamina.failures import LoginFailure
from tests.fakes.egress_proxy import HttpProxy, Servers
from tests.integration.refresh_worker.test_dreamina_login import (
    EMAIL,
    PASSWORD,
    _account,
    _log,
    _settings,
    page,
)

__all__ = ["page"]  # the fake login page's fixture


@pytest.fixture
def proxy() -> Iterator[tuple[Servers, HttpProxy]]:
    with Servers() as servers:
        yield servers, servers.start(HttpProxy(auth=("login", "proxy-pass")))


async def test_the_login_goes_through_the_proxy_and_never_directly(page, proxy):
    servers, fake = proxy
    sessionid = uuid.uuid4().hex
    await _account(page, sessionid=sessionid)
    driver = PlaywrightLogin(_settings(page))
    try:
        session = await driver.login(EMAIL, PASSWORD, proxy=fake.url)
        assert session.sessionid == sessionid
        page_target = f"127.0.0.1:{page.port}"
        assert page_target in fake.targets and {r.user for r in fake.records} == {"login"}
        assert fake.refused >= 1  # Chromium's first try carried no credentials: a real 407 exchange

        logged = len(await _log(page))
        servers.stop(fake)
        with pytest.raises(LoginFailure):
            await driver.login(EMAIL, PASSWORD, proxy=fake.url)
        assert len(await _log(page)) == logged  # the page was never reached directly
    finally:
        await driver.close()
