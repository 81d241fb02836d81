"""tests/console: the web console in a real browser (Debian's Chromium, driven by Playwright) against
the whole gateway started as processes (tests/support/stack.py).

Tests find elements by role and label, as a person with a screen reader would. `look(page, name)`
saves a screenshot to `tests/console/screenshots/` (for a person to look at) and runs axe-core over
the page: no critical or serious violation passes. Every page is also watched for console errors, so a
script the Content-Security-Policy blocks fails the test that loaded it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from services.refresh_worker.dreamina.browser import CHROMIUM_FLAGS
from tests.support.infra import Infra
from tests.support.stack import Stack, running_stack

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).parent / "screenshots"
AXE = ROOT / "tests" / "clients" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"

__all__ = ["PASSWORD", "User", "expect", "look", "sign_in"]

# Assertions wait for the page to settle, never for a time: a 2-core machine running three services,
# the fakes and Chromium can take more than Playwright's 5 s default to show a worker's result.
expect.set_options(timeout=15_000)


@dataclass(frozen=True)
class User:
    name: str
    password: str
    key: str  # an API key of the user's, for setting up through the management API
    is_admin: bool = False

    def api(self, stack: Stack) -> httpx.Client:
        return httpx.Client(
            base_url=f"{stack.account_service_url}/api/v1",
            headers={"authorization": f"Bearer {self.key}"},
            timeout=10,
        )


@pytest.fixture(scope="package")
def stack(infra: Infra, tmp_path_factory) -> Iterator[Stack]:
    with running_stack(infra.child("console"), tmp_path_factory.mktemp("console-logs")) as running:
        yield running


@pytest.fixture(scope="package")
def make_user(stack: Stack) -> Callable[..., User]:
    """A new user with a console password and an API key: `make_user(admin=True)` for an admin."""

    def make(*, admin: bool = False, name: str | None = None) -> User:
        name = name or f"{'admin' if admin else 'user'}-{uuid.uuid4().hex[:8]}"
        stack.cli("users", "create", name, *(["--admin"] if admin else []))
        stack.cli("users", "set-password", name, input=PASSWORD + "\n")
        key = stack.cli("keys", "create", "--user", name, "--name", "console-tests")
        return User(name=name, password=PASSWORD, key=key, is_admin=admin)

    return make


@pytest.fixture(scope="package")
def browser(stack: Stack) -> Iterator[Browser]:
    """Chromium, started after the stack: Playwright's sync API holds an event loop on this thread
    while it runs, so no console test may call `asyncio.run` (set up through HTTP and the CLI), and
    it stops with this package's tests (scope "package"), before any other test wants the thread."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS))
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser, stack: Stack) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=stack.account_service_url, locale="en-US", accept_downloads=True)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A tab whose console errors (a CSP refusal, a script error) fail the test."""
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" and _not_http(m.text) else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    yield tab
    assert not errors, f"the page logged errors: {errors}"


def _not_http(text: str) -> bool:
    """A page answered 4xx on purpose (a wrong password, a refused form) logs "Failed to load
    resource"; that is the test's subject, not a script error."""
    return not text.startswith("Failed to load resource")


def sign_in(page: Page, user: User, *, next_path: str = "/") -> None:
    page.goto(f"/sign-in?next={next_path}")
    page.get_by_label("Username").fill(user.name)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


_SERIOUS = ("critical", "serious")


def look(page: Page, name: str) -> None:
    """Screenshot the page to tests/console/screenshots/NAME.png and check it with axe-core."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png", full_page=True)
    # evaluate runs through the DevTools protocol, which the page's CSP does not govern (a script tag
    # would be refused, rightly).
    page.evaluate(AXE.read_text())
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    serious = [v for v in violations if v["impact"] in _SERIOUS]
    assert not serious, f"{name}: accessibility violations: {serious}"
