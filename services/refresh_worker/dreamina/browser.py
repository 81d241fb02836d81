"""The Dreamina login in a real browser: Playwright driving Debian's Chromium (reference §3.1).

One fresh headless browser per login, closed in every case. The flow: open the login URL; click the
"Create" menu item (or, without one, "Sign in"); "Continue with email"; fill the e-mail and the
password; click "Continue"; then watch the page until the `sessionid` cookie is set (its value and
`expires` are the session), the page shows a message (a wrong password, or another refusal), or a
captcha or verification appears, or `cookie_wait_s` passes. Each expected element is waited for up
to `step_timeout_s`; one that never shows is named in the failure (the page changed). Before an
element counts as missing, a captcha on screen is looked for, since that is what usually hides it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from playwright.async_api import BrowserContext, Locator, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from services.refresh_worker.dreamina.failures import (
    BrowserUnavailable,
    LoginTimeout,
    NoCookie,
    PageChanged,
    PageRefused,
    Session,
    VerificationRequired,
    WrongPassword,
)
from shared.egress import playwright_proxy

# The flags Debian's Chromium needs here: no sandbox as root, and none of its own network chatter.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36"
)
_CREATE = re.compile(r"^\s*Create\s*$")
_SIGN_IN = re.compile(r"^\s*Sign in\s*$")
_WRONG_PASSWORD = re.compile(r"incorrect|wrong|invalid|password", re.IGNORECASE)
_MESSAGE = ".lv-message, [role=alert], [class*='error-message'], [class*='login-error']"
_CAPTCHA = (
    "#captcha_container, .captcha_verify_container, [id*='captcha' i], [class*='captcha' i],"
    " iframe[src*='captcha'], iframe[src*='verify']"
)
_POLL_S = 0.2


@dataclass(frozen=True, slots=True)
class LoginPageSettings:
    url: str
    executable: str
    page_timeout_s: float
    step_timeout_s: float
    cookie_wait_s: float
    timeout_s: float  # the whole try


class PlaywrightLogin:
    """The login driver. Playwright itself starts on the first login and stops at `close`."""

    def __init__(self, settings: LoginPageSettings) -> None:
        self._settings = settings
        self._playwright: Playwright | None = None
        self._starting = asyncio.Lock()

    async def close(self) -> None:
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None

    async def _chromium(self):
        async with self._starting:
            if self._playwright is None:
                self._playwright = await async_playwright().start()
        return self._playwright.chromium

    async def login(self, email: str, password: str, *, proxy: str | None = None) -> Session:
        chromium = await self._chromium()
        try:
            browser = await chromium.launch(
                executable_path=self._settings.executable, headless=True, args=list(CHROMIUM_FLAGS)
            )
        except PlaywrightError as exc:
            raise BrowserUnavailable(f"the browser did not start: {_first_line(exc)}") from None
        try:
            # The account's egress proxy, if any: the login never goes out directly either.
            context = await browser.new_context(
                viewport={"width": 1280, "height": 720},
                user_agent=USER_AGENT,
                locale="en-US",
                **({"proxy": playwright_proxy(proxy)} if proxy else {}),
            )
            page = await context.new_page()
            try:
                async with asyncio.timeout(self._settings.timeout_s):
                    return await _LoginFlow(page, context, self._settings).run(email, password)
            except TimeoutError:
                raise LoginTimeout(f"the login took longer than {self._settings.timeout_s:g} s") from None
        except PlaywrightError as exc:  # the page or the browser went away under the flow
            raise BrowserUnavailable(f"the browser failed during the login: {_first_line(exc)}") from None
        finally:
            with contextlib.suppress(PlaywrightError):
                await browser.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:200]


class _LoginFlow:
    def __init__(self, page: Page, context: BrowserContext, settings: LoginPageSettings) -> None:
        self._page = page
        self._context = context
        self._settings = settings
        self._step_ms = settings.step_timeout_s * 1000

    async def run(self, email: str, password: str) -> Session:
        await self._open()
        page = self._page
        create = page.locator("[role=menuitem], .lv-menu-item, #AIGeneratedRecord").filter(has_text=_CREATE)
        sign_in = page.locator("button, a, [role=menuitem], #SiderMenuLogin, [class*='login' i]").filter(
            has_text=_SIGN_IN
        )
        await self._click(create.or_(sign_in), "the Create menu item or the Sign in button")
        with_email = page.locator("span.lv_new_third_part_sign_in_expand-label").or_(
            page.get_by_text("Continue with email", exact=True)
        )
        await self._click(with_email, "the Continue with email option")
        email_input = page.locator("input[placeholder='Enter email'], input[type=email]")
        await self._fill(email_input, email, "the e-mail input")
        password_input = page.locator("input[placeholder='Enter password'], input[type=password]")
        await self._fill(password_input, password, "the password input")
        await self._click(page.get_by_role("button", name="Continue", exact=True), "the Continue button")
        return await self._wait_for_session()

    async def _open(self) -> None:
        try:
            await self._page.goto(
                self._settings.url,
                wait_until="domcontentloaded",
                timeout=self._settings.page_timeout_s * 1000,
            )
        except PlaywrightTimeout:
            raise LoginTimeout(
                f"the login page did not load within {self._settings.page_timeout_s:g} s"
            ) from None
        except PlaywrightError as exc:
            raise LoginTimeout(f"the login page could not be reached: {_first_line(exc)}") from None

    async def _find(self, locator: Locator, name: str) -> Locator:
        first = locator.first
        try:
            await first.wait_for(state="visible", timeout=self._step_ms)
        except PlaywrightTimeout:
            await self._no_captcha()
            raise PageChanged(name) from None
        return first

    async def _click(self, locator: Locator, name: str) -> None:
        found = await self._find(locator, name)
        try:
            await found.click(timeout=self._step_ms)
        except PlaywrightTimeout:
            raise PageChanged(f"{name} (shown, but it took no click)") from None

    async def _fill(self, locator: Locator, value: str, name: str) -> None:
        found = await self._find(locator, name)
        try:
            await found.fill(value, timeout=self._step_ms)
        except PlaywrightTimeout:
            raise PageChanged(f"{name} (shown, but it took no input)") from None

    async def _no_captcha(self) -> None:
        if await self._page.locator(_CAPTCHA).filter(visible=True).count():
            raise VerificationRequired("the page asks for a captcha or verification")

    async def _message(self) -> str | None:
        shown = self._page.locator(_MESSAGE).filter(visible=True)
        if not await shown.count():
            return None
        text = " ".join((await shown.first.inner_text()).split())
        return text[:200] or None

    async def _wait_for_session(self) -> Session:
        deadline = time.monotonic() + self._settings.cookie_wait_s
        while True:
            for cookie in await self._context.cookies():
                if cookie.get("name") == "sessionid" and cookie.get("value"):
                    expires = cookie.get("expires")
                    return Session(
                        sessionid=cookie["value"],
                        expires_at=datetime.fromtimestamp(expires, UTC) if expires and expires > 0 else None,
                    )
            message = await self._message()
            if message:
                refused = WrongPassword if _WRONG_PASSWORD.search(message) else PageRefused
                raise refused(f"the page says: {message}")
            await self._no_captcha()
            if time.monotonic() >= deadline:
                raise NoCookie(
                    f"no sessionid cookie within {self._settings.cookie_wait_s:g} s after Continue"
                )
            await asyncio.sleep(_POLL_S)
