"""The proxies page: add a proxy (its password never shown), test it through a real local proxy to the
echo server, put an account on it (the account lists show it), the refused delete of a proxy in use,
taking the account off and deleting; a bad port refused next to its field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.console.conftest import expect, look, sign_in
from tests.fakes.egress_proxy import ECHO_COUNTRY, ECHO_IP, HttpProxy, Servers

PASSWORD = "console-proxy-secret"


@pytest.fixture(scope="module")
def fake_proxy() -> Iterator[HttpProxy]:
    with Servers() as servers:
        yield servers.start(HttpProxy(auth=("cuser", PASSWORD)))


def test_add_test_assign_and_delete_a_proxy(page: Page, make_user, stack, fake_proxy: HttpProxy):
    user = make_user()
    with user.api(stack) as api:
        body = {"api_base": "https://api.example.com/v1", "api_key": "sk-console-proxy-1", "format": "openai"}
        created = api.post("/accounts/custom_api", json=body | {"name": "behind-proxy"})
        assert created.status_code == 201, created.text
    sign_in(page, user)
    page.get_by_role("link", name="Proxies").click()
    expect(page.get_by_role("heading", name="Proxies", exact=True)).to_be_visible()
    expect(page.get_by_text("No proxies yet.")).to_be_visible()
    look(page, "proxies")

    page.get_by_label("Name", exact=True).fill("local-http")
    page.get_by_label("Host", exact=True).fill("127.0.0.1")
    page.get_by_label("Port", exact=True).fill(str(fake_proxy.port))
    page.get_by_label("Username", exact=True).fill("cuser")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Region", exact=True).fill("us")
    page.get_by_role("button", name="Add proxy").click()
    expect(page.get_by_role("status")).to_have_text("Added.")
    row = page.get_by_role("row").filter(has_text="local-http")
    expect(row).to_contain_text(f"http://cuser:****@127.0.0.1:{fake_proxy.port}")
    expect(row).to_contain_text("not tested")
    assert PASSWORD not in page.content()

    page.get_by_role("button", name="Test proxy local-http").click()
    expect(page.get_by_role("status")).to_have_text("Tested: the list shows the result.")
    expect(row).to_contain_text("healthy")
    expect(row).to_contain_text(ECHO_IP)
    expect(row).to_contain_text(ECHO_COUNTRY)
    assert fake_proxy.records, "the test did not go through the proxy"
    look(page, "proxies-tested")

    page.get_by_label("Proxy", exact=True).select_option(label="local-http")
    page.get_by_label("behind-proxy").check()
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(row.get_by_role("cell").nth(6)).to_have_text("1")
    page.goto(f"{stack.account_service_url}/accounts")
    expect(page.get_by_role("row").filter(has_text="behind-proxy")).to_contain_text("local-http")
    look(page, "accounts-with-proxy")

    page.goto(f"{stack.account_service_url}/proxies")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete proxy local-http").click()
    expect(page.get_by_text("1 account(s) use this proxy")).to_be_visible()

    page.goto(f"{stack.account_service_url}/proxies")
    page.get_by_label("Proxy", exact=True).select_option(label="None (connect directly)")
    page.get_by_label("behind-proxy").check()
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete proxy local-http").click()
    expect(page.get_by_role("status")).to_have_text("Deleted.")
    expect(page.get_by_text("No proxies yet.")).to_be_visible()
    with user.api(stack) as api:
        assert api.get("/proxies").json() == []
        (account,) = api.get("/accounts").json()["items"]
        assert account["egress_proxy"] is None


def test_a_bad_port_is_refused_next_to_the_field(page: Page, make_user):
    sign_in(page, make_user(), next_path="/proxies")
    page.get_by_label("Name", exact=True).fill("broken")
    page.get_by_label("Host", exact=True).fill("127.0.0.1")
    page.get_by_label("Port", exact=True).evaluate("el => { el.removeAttribute('max'); el.value = '70000'; }")
    page.get_by_role("button", name="Add proxy").click()
    expect(page.get_by_text("Enter a port from 1 to 65535.")).to_be_visible()
    expect(page.get_by_label("Port", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Name", exact=True)).to_have_value("broken")
    look(page, "proxies-invalid-port")
