"""The custom API section: the "Add custom API" dialog (valid input; errors next to their field with the
dialog open again; the key never written back), the table's columns and the masked key. Enabling,
disabling, deleting with confirmation and isolation are the shared list's (test_account_lists.py)."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Locator, Page

from shared.providers import KNOWN_PROVIDERS
from tests.console.conftest import expect, look, sign_in


def _dialog(page: Page) -> Locator:
    return page.get_by_role("dialog", name="Add custom API")


def test_a_custom_api_added_through_the_dialog_is_listed_with_its_key_masked(page: Page, make_user, stack):
    user = make_user()
    key = f"sk-{uuid.uuid4().hex}"
    sign_in(page, user)
    page.goto("/custom")
    expect(_dialog(page)).to_be_hidden()
    page.get_by_role("button", name="Add custom API").click()
    dialog = _dialog(page)
    expect(dialog).to_be_visible()
    provider = dialog.get_by_label("Provider")
    offered = page.locator(f"datalist#{provider.get_attribute('list')} option")
    assert [o.get_attribute("value") for o in offered.all()] == list(KNOWN_PROVIDERS)
    expect(dialog.get_by_label("Format")).to_have_value("openai")
    look(page, "custom-add-dialog")

    dialog.get_by_label("Name").fill("deep-one")
    dialog.get_by_label("API base URL").fill(f"{stack.openai_url}/v1")
    dialog.get_by_label("API key").fill(key)
    dialog.get_by_label("Format").select_option("claude")
    provider.fill("deepseek")
    dialog.get_by_label("Models").fill("deepseek-chat, deepseek-reasoner, deepseek-chat")
    dialog.get_by_role("button", name="Add", exact=True).click()

    expect(page.get_by_role("status")).to_have_text("Added.")
    expect(_dialog(page)).to_be_hidden()
    row = page.get_by_role("row", name=re.compile("deep-one"))
    for text in (
        f"{stack.openai_url}/v1",
        "Claude",
        "deepseek",
        "deepseek-chat, deepseek-reasoner",
        "active",
        key[:4] + "****",
    ):
        expect(row.get_by_role("cell", name=text, exact=True)).to_be_visible()
    assert key not in page.content() and key[:5] not in page.content()
    look(page, "custom-list-added")

    with user.api(stack) as api:
        (view,) = api.get("/accounts", params={"kind": "custom_api"}).json()["items"]
    assert view["settings"] | {"api_base": None} == {
        "api_base": None,
        "format": "claude",
        "provider": "deepseek",
        "models": ["deepseek-chat", "deepseek-reasoner"],
        "model_override": None,
    }


def test_an_unnamed_account_is_listed_by_its_provider_and_host(page: Page, make_user, stack):
    user = make_user()
    sign_in(page, user)
    page.goto("/custom")
    page.get_by_role("button", name="Add custom API").click()
    dialog = _dialog(page)
    dialog.get_by_label("API base URL").fill(f"{stack.openai_url}/v1")
    dialog.get_by_label("API key").fill(f"sk-{uuid.uuid4().hex}")
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Added.")
    row = page.get_by_role("row", name=re.compile("openai@127.0.0.1"))
    expect(row.get_by_role("cell", name="any", exact=True)).to_be_visible()  # no models: any model
    expect(row.get_by_role("cell", name="OpenAI", exact=True)).to_be_visible()


def test_errors_show_next_to_their_field_with_the_dialog_open_again(page: Page, make_user, stack):
    user = make_user()
    key = f"sk-{uuid.uuid4().hex}"
    sign_in(page, user)
    page.goto("/custom")
    page.get_by_role("button", name="Add custom API").click()
    dialog = _dialog(page)
    dialog.get_by_label("Name").fill("kept-name")
    dialog.get_by_label("API base URL").fill("ftp://files.example.com/v1")  # a URL, not http(s)
    dialog.get_by_label("API key").fill(key)
    dialog.get_by_label("Provider").fill("openrouter")
    dialog.get_by_label("Models").fill("a, b")
    dialog.get_by_role("button", name="Add", exact=True).click()

    dialog = _dialog(page)
    expect(dialog).to_be_visible()  # opened again, with the error next to the field
    base = dialog.get_by_label("API base URL")
    expect(base).to_have_attribute("aria-invalid", "true")
    expect(base).to_be_focused()  # the dialog opens at its first error
    expect(base).to_have_accessible_description(re.compile("must be an http:// or https:// URL"))
    expect(base).to_have_value("ftp://files.example.com/v1")
    expect(dialog.get_by_label("API key")).to_have_value("")
    expect(dialog.get_by_label("API key")).to_have_accessible_description(re.compile("paste it again"))
    expect(dialog.get_by_label("API key")).not_to_have_attribute("aria-invalid", "true")
    for label, value in (("Name", "kept-name"), ("Provider", "openrouter"), ("Models", "a, b")):
        expect(dialog.get_by_label(label)).to_have_value(value)
    assert key not in page.content()
    look(page, "custom-add-errors")

    # A key with a space in it: the key's error, the URL fine now.
    base.fill(f"{stack.openai_url}/v1")
    dialog.get_by_label("API key").fill("sk with spaces")
    dialog.get_by_role("button", name="Add", exact=True).click()
    dialog = _dialog(page)
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("API key")).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_label("API key")).to_have_accessible_description(re.compile("one word"))
    expect(dialog.get_by_label("API base URL")).not_to_have_attribute("aria-invalid", "true")

    # Cancel closes it; nothing was stored.
    dialog.get_by_role("button", name="Cancel").click()
    expect(_dialog(page)).to_be_hidden()
    expect(page.get_by_role("cell", name="No accounts match.")).to_be_visible()
    with user.api(stack) as api:
        assert api.get("/accounts", params={"kind": "custom_api"}).json()["total"] == 0
