"""The usage page and the account lists' sparklines, fed by real calls: chat completions through the
proxy to the fake upstream, reported as `usage.recorded` and rolled up by account_service."""

from __future__ import annotations

import re
import time
import uuid

import httpx
from playwright.sync_api import Page

from tests.console.conftest import User, expect, look, sign_in

HELLO = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}


def _calls(stack, user: User, count: int) -> dict:
    """`count` successful calls through the proxy on a new account of the user's; returns the account
    once the rollups hold them."""
    with user.api(stack) as api:
        created = api.post(
            "/accounts/custom_api",
            json={
                "name": f"busy-{uuid.uuid4().hex[:4]}",
                "api_base": f"{stack.openai_url}/v1",
                "api_key": f"sk-{uuid.uuid4().hex}",
                "format": "openai",
            },
        )
        assert created.status_code == 201, created.text
        with httpx.Client(base_url=stack.proxy_url, headers={"authorization": f"Bearer {user.key}"}) as proxy:
            deadline = time.monotonic() + 60  # the allocation index learns of the account through RabbitMQ
            served = 0
            while served < count:
                served += proxy.post("/v1/chat/completions", json=HELLO).status_code == 200
                assert time.monotonic() < deadline, "the account never served"
        deadline = time.monotonic() + 30
        while api.get("/usage", params={"by": "model"}).json()["total"]["requests"] < count:
            assert time.monotonic() < deadline, "the calls were never rolled up"
            time.sleep(0.1)
    return created.json()


def test_the_usage_page_charts_calls_and_tokens_and_lists_the_top_keys_and_models(
    page: Page, make_user, stack
) -> None:
    user = make_user()
    account = _calls(stack, user, 4)
    sign_in(page, user)
    page.get_by_role("link", name="Usage").click()
    expect(page.get_by_role("heading", name="Usage", level=1)).to_be_visible()
    expect(page.locator("figure.chart canvas")).to_have_count(2)  # uPlot drew both charts
    expect(page.get_by_role("figure", name="Calls over time")).to_be_visible()
    calls = page.locator(".card", has=page.get_by_role("heading", name="Calls"))
    expect(calls.locator(".figure")).to_have_text("4")
    expect(calls).to_contain_text("0 failed")
    models = page.get_by_role("table", name="Top models")
    expect(models.get_by_role("row", name=re.compile(r"^gpt-4o-mini 4 0 "))).to_be_visible()
    keys = page.get_by_role("table", name="Top keys")
    expect(keys.get_by_role("link", name="console-tests")).to_be_visible()
    look(page, "usage")

    page.get_by_label("Show", exact=True).select_option(label=account["name"])
    page.get_by_label("Period").select_option("24h")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"view=account%3A{account['id']}"))
    expect(page.locator("figure.chart canvas")).to_have_count(2)
    expect(calls.locator(".figure")).to_have_text("4")


def test_account_lists_show_a_sparkline_of_the_last_24_hours(page: Page, make_user, stack) -> None:
    user = make_user()
    account = _calls(stack, user, 3)
    sign_in(page, user)
    for path in ("/custom", "/accounts"):
        page.goto(path)
        row = page.get_by_role("row", name=re.compile(account["name"]))
        expect(row.get_by_role("img", name="3 calls in the last 24 hours")).to_be_visible()
    look(page, "accounts-with-sparklines")


def test_another_users_usage_is_not_shown(page: Page, make_user, stack) -> None:
    busy, idle = make_user(), make_user()
    _calls(stack, busy, 1)
    sign_in(page, idle)
    page.goto("/usage")
    calls = page.locator(".card", has=page.get_by_role("heading", name="Calls"))
    expect(calls.locator(".figure")).to_have_text("0")
    expect(page.get_by_role("table", name="Top keys")).to_have_count(0)
    expect(page.get_by_text("No calls in this time.").first).to_be_visible()
