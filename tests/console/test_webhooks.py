"""The webhooks page: a new webhook's secret shown once, a test sent from the console and seen in the
delivery log (delivered, signed, to a real receiver), disabling and deleting; a bad URL refused next
to its field; the operator-wide choice offered to admins only."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page

from tests.console.conftest import expect, look, sign_in
from tests.support.processes import spawn_listening


@pytest.fixture(scope="module")
def receiver(tmp_path_factory) -> Iterator[httpx.Client]:
    proc, port = spawn_listening(
        "webhook-receiver", "tests.fakes.webhook_receiver", log_dir=tmp_path_factory.mktemp("receiver")
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        proc.stop()


def test_add_a_webhook_send_a_test_and_see_it_delivered(page: Page, make_user, stack, receiver):
    user = make_user()
    sign_in(page, user)
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    expect(page.get_by_label("Operator-wide")).to_have_count(0)  # admins only
    look(page, "webhooks")

    url = f"{str(receiver.base_url).rstrip('/')}/console-hook"
    page.get_by_label("URL").fill(url)
    page.get_by_label("A key reached its daily limit").uncheck()
    page.get_by_role("button", name="Add webhook").click()
    box = page.get_by_role("region", name="Signing secret of the new webhook")
    expect(box).to_contain_text("it will not be shown again")
    secret = box.locator("code").inner_text()
    assert re.fullmatch(r"whsec_[A-Za-z0-9_-]{43}", secret), secret
    receiver.post("/_fake/paths/console-hook", json={"secret": secret}).raise_for_status()
    row = page.get_by_role("row").filter(has_text=url)
    expect(row).to_contain_text("enabled")
    expect(row).not_to_contain_text("A key reached its daily limit")
    look(page, "webhooks-created")
    page.reload()
    assert secret not in page.content()

    page.get_by_role("button", name=f"Send a test to {url}").click()
    expect(page.get_by_role("status")).to_have_text(
        "A test was sent; its result appears in the delivery log."
    )
    log_row = page.get_by_role("region", name="Delivery log").get_by_role("row").filter(has_text="Test")
    expect(log_row).to_contain_text("delivered", timeout=20_000)  # the log refreshes itself while pending
    expect(log_row).to_contain_text("HTTP 200")
    look(page, "webhook-log")
    (got,) = receiver.get("/_fake/requests").json()
    assert got["event"] == "webhook.test" and got["signature_valid"]

    page.get_by_role("link", name="All webhooks").click()
    page.get_by_role("button", name=f"Disable webhook {url}").click()
    expect(page.get_by_role("status")).to_have_text("Disabled.")
    expect(row).to_contain_text("disabled")
    with user.api(stack) as api:
        assert [w["enabled"] for w in api.get("/webhooks").json()] == [False]

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name=f"Delete webhook {url}").click()
    expect(page.get_by_role("status")).to_have_text("Deleted.")
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()


def test_a_bad_url_is_refused_next_to_the_field(page: Page, make_user):
    sign_in(page, make_user(), next_path="/webhooks")
    page.get_by_label("URL").fill("ftp://example.com/hook")
    page.get_by_role("button", name="Add webhook").click()
    expect(
        page.get_by_text("Enter an http:// or https:// address of at most 2000 characters.")
    ).to_be_visible()
    expect(page.get_by_label("URL")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("URL")).to_have_value("ftp://example.com/hook")
    look(page, "webhooks-invalid-url")


def test_an_admin_adds_an_operator_wide_webhook(page: Page, make_user, stack):
    admin = make_user(admin=True)
    sign_in(page, admin, next_path="/webhooks")
    page.get_by_label("URL").fill("https://alerts.example.com/poolgate")
    page.get_by_label("Operator-wide").check()
    page.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_role("row").filter(has_text="alerts.example.com")).to_contain_text("operator-wide")
    with admin.api(stack) as api:
        (hook,) = api.get("/webhooks", params={"user": admin.name}).json()
    assert hook["operator_wide"] is True
