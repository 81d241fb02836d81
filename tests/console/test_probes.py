"""An account's probes page: scheduled probes turned on with an interval (a bad one refused next to
its field), "Probe now" run by the real worker against the fake OpenAI upstream, and the last result
shown with its latency; reached from the account list's "Probes" button."""

from __future__ import annotations

import re
import time
import uuid

import httpx
from playwright.sync_api import Page

from tests.console.conftest import expect, look, sign_in


def _probes(api: httpx.Client, account_id: str, *, timeout_s: float = 30.0) -> list[dict]:
    """The account's results once the worker reported one."""
    deadline = time.monotonic() + timeout_s
    while True:
        items = api.get(f"/accounts/{account_id}/probes").json()["items"]
        if items or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def test_turn_probes_on_probe_now_and_see_the_result(page: Page, make_user, stack):
    user = make_user()
    name = f"probe-{uuid.uuid4().hex[:6]}"
    with user.api(stack) as api:
        body = {"name": name, "api_base": f"{stack.openai_url}/v1", "api_key": "sk-probe", "format": "openai"}
        made = api.post("/accounts/custom_api", json=body)
        assert made.status_code == 201, made.text
        account = made.json()
    sign_in(page, user, next_path="/custom")
    page.get_by_role("link", name=f"Probes of {name}").click()
    expect(page.get_by_role("heading", name=f"Probes of {name}")).to_be_visible()
    toggle = page.get_by_label("Probe this account on a schedule")
    expect(toggle).not_to_be_checked()
    expect(page.get_by_text("Not probed yet.").first).to_be_visible()
    look(page, "probes-off")

    toggle.check()
    page.get_by_label("Interval (seconds)").fill("30")
    # The browser refuses it by itself (min="60"); without that check the service refuses it too.
    assert not page.get_by_label("Interval (seconds)").evaluate("input => input.checkValidity()")
    page.evaluate("document.querySelectorAll('form').forEach(form => { form.noValidate = true; })")
    page.get_by_role("button", name="Save").click()
    interval = page.get_by_label("Interval (seconds)")
    expect(interval).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-probe_interval_s-error")).to_contain_text("60")
    expect(toggle).to_be_checked()  # what was chosen stays chosen
    look(page, "probes-bad-interval")

    interval.fill("600")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_label("Probe this account on a schedule")).to_be_checked()
    expect(page.get_by_label("Interval (seconds)")).to_have_value("600")
    with user.api(stack) as api:
        view = api.get(f"/accounts/{account['id']}").json()
    assert (view["probe_enabled"], view["probe_interval_s"]) == (True, 600)

    page.get_by_role("button", name="Probe now").click()
    expect(page.get_by_role("status")).to_contain_text("A probe was requested")
    with user.api(stack) as api:
        assert _probes(api, account["id"]), "the worker reported the probe"
    page.reload()
    last = page.locator("#last-probe")
    expect(last).to_contain_text("healthy")
    expect(last).to_contain_text(re.compile(r"\d+ ms"))
    recent = page.get_by_role("region", name="Recent probes")
    expect(recent.get_by_role("row").filter(has_text="models")).to_have_count(1)
    look(page, "probes-result")

    page.get_by_label("Probe this account on a schedule").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    with user.api(stack) as api:
        assert api.get(f"/accounts/{account['id']}").json()["probe_enabled"] is False
    page.get_by_role("link", name="Back to the list").click()
    expect(page).to_have_url(re.compile(r"/custom"))
