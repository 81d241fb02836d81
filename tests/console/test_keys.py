"""The API keys page: a new key shown once (with a copy button), disabling, enabling and deleting
keys, an admin's view of every user's keys, and a user acting on another's key by URL."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from tests.console.conftest import expect, look, sign_in


def _row(page: Page, text: str):
    return page.get_by_role("row").filter(has_text=text)


def _me(user, stack, key: str) -> int:
    with user.api(stack) as api:
        return api.get("/me", headers={"authorization": f"Bearer {key}"}).status_code


def test_a_new_key_is_shown_once_with_a_copy_button(page: Page, make_user, stack):
    user = make_user()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, user)
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="Your keys")).to_be_visible()
    expect(_row(page, "console-tests")).to_contain_text(user.key[:10] + "…")
    look(page, "keys")

    page.get_by_label("Name (optional)").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    box = page.get_by_role("region", name="Your new API key: laptop")
    expect(box).to_contain_text("it will not be shown again")
    key = box.locator("code").inner_text()
    assert re.fullmatch(r"pg-[A-Za-z0-9_-]{43}", key), key
    expect(_row(page, "laptop")).to_contain_text(key[:10] + "…")
    look(page, "keys-created")

    page.get_by_role("button", name="Copy key").click()
    expect(box.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    assert _me(user, stack, key) == 200  # the key shown is the key stored

    # Reloading shows the list, not the key again, and does not post the form a second time.
    page.reload()
    expect(page.get_by_role("heading", name="Your keys")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Your new API key"))).to_have_count(0)
    assert key not in page.content()
    expect(_row(page, "laptop")).to_have_count(1)
    with user.api(stack) as api:
        assert [k["name"] for k in api.get("/keys").json()] == ["laptop", "console-tests"]


def test_a_name_too_long_is_refused_next_to_the_field(page: Page, make_user, stack):
    user = make_user()
    sign_in(page, user, next_path="/keys")
    page.get_by_label("Name (optional)").fill("x" * 201)
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("A key's name has at most 200 characters.")).to_be_visible()
    expect(page.get_by_label("Name (optional)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("heading", name=re.compile("Your new API key"))).to_have_count(0)
    look(page, "keys-invalid-name")
    with user.api(stack) as api:
        assert len(api.get("/keys").json()) == 1


def test_a_key_is_disabled_enabled_and_deleted_with_confirmation(page: Page, make_user, stack):
    user = make_user()
    with user.api(stack) as api:
        spare = api.post("/keys", json={"name": "spare"}).json()["key"]
    sign_in(page, user, next_path="/keys")

    page.get_by_role("button", name="Disable key spare").click()
    expect(page.get_by_role("status")).to_have_text("Disabled.")
    expect(_row(page, "spare")).to_contain_text("disabled")
    assert _me(user, stack, spare) == 403
    look(page, "keys-disabled")

    page.get_by_role("button", name="Enable key spare").click()
    expect(page.get_by_role("status")).to_have_text("Enabled.")
    expect(_row(page, "spare")).to_contain_text("enabled")
    assert _me(user, stack, spare) == 200

    page.once("dialog", lambda d: d.dismiss())  # "no": nothing is deleted
    page.get_by_role("button", name="Delete key spare").click()
    expect(_row(page, "spare")).to_have_count(1)
    assert _me(user, stack, spare) == 200

    questions: list[str] = []
    page.once("dialog", lambda d: (questions.append(d.message), d.accept()))
    page.get_by_role("button", name="Delete key spare").click()
    expect(page.get_by_role("status")).to_have_text("Deleted.")
    assert questions and "spare" in questions[0]
    expect(_row(page, "spare")).to_have_count(0)
    expect(_row(page, "console-tests")).to_have_count(1)
    assert _me(user, stack, spare) == 401
    look(page, "keys-deleted")


def test_an_admin_sees_every_users_keys_with_their_owner_and_filters_by_user(page: Page, make_user, stack):
    alice, bob, admin = make_user(), make_user(), make_user(admin=True)
    sign_in(page, admin, next_path="/keys")
    expect(page.get_by_role("heading", name="Every user's keys")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Owner")).to_be_visible()
    for someone in (alice, bob):
        expect(_row(page, someone.name)).to_contain_text(someone.key[:10] + "…")
    look(page, "keys-admin")

    page.get_by_label("User", exact=True).fill(alice.name)
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name=f"Keys of {alice.name}")).to_be_visible()
    expect(_row(page, alice.name)).to_have_count(1)
    expect(_row(page, bob.name)).to_have_count(0)
    look(page, "keys-admin-filtered")

    # A key made for another user is theirs; the list keeps its filter.
    page.get_by_label("Name (optional)").fill("for alice")
    page.get_by_label("For user").fill(alice.name)
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_role("region", name="Your new API key: for alice").locator("code").inner_text()
    expect(page.get_by_role("heading", name=f"Keys of {alice.name}")).to_be_visible()
    with alice.api(stack) as api:
        assert api.get("/me", headers={"authorization": f"Bearer {key}"}).json()["username"] == alice.name

    # An admin acts on anyone's key.
    page.get_by_role("button", name="Disable key for alice").click()
    expect(page.get_by_role("heading", name=f"Keys of {alice.name}")).to_be_visible()
    expect(_row(page, "for alice")).to_contain_text("disabled")

    page.get_by_label("User", exact=True).fill("nobody-by-this-name")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("no user named 'nobody-by-this-name'")).to_be_visible()
    expect(page.get_by_label("User", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("For user").fill("nobody-by-this-name")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_label("For user")).to_have_attribute("aria-invalid", "true")
    look(page, "keys-admin-unknown-user")


def _post_form(page: Page, url: str) -> None:
    """Submit a form to `url` from the current page, as a hand-made form with the session's token
    would (DevTools runs this script; the page's CSP would refuse an inline one)."""
    page.evaluate(
        """url => {
          const form = document.createElement("form");
          form.method = "post";
          form.action = url;
          form.append(document.querySelector("input[name=csrf_token]").cloneNode());
          document.body.append(form);
          form.submit();
        }""",
        url,
    )


def test_a_user_cannot_see_or_act_on_anothers_keys_by_url(page: Page, make_user, stack):
    alice, bob = make_user(), make_user()
    with alice.api(stack) as api:
        alices_key = next(k for k in api.get("/keys").json() if k["name"] == "console-tests")
    sign_in(page, bob, next_path="/keys")
    expect(page.get_by_role("columnheader", name="Owner")).to_have_count(0)
    for action in ("disable", "delete"):
        with page.expect_navigation():
            _post_form(page, f"/keys/{alices_key['id']}/{action}")
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        expect(page.get_by_role("alert")).to_have_text("no such API key")
        page.go_back()
    look(page, "keys-not-found")
    page.goto(f"/keys?user={alice.name}")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    assert alice.key[:10] not in page.content()
    with alice.api(stack) as api:
        assert next(k for k in api.get("/keys").json() if k["id"] == alices_key["id"])["enabled"] is True


def test_a_keys_limits_are_shown_and_edited(page: Page, make_user, stack):
    user = make_user()
    sign_in(page, user, next_path="/keys")
    expect(_row(page, "console-tests")).to_contain_text("defaults")
    page.get_by_role("link", name="Edit the limits of key console-tests").click()
    expect(page.get_by_role("heading", name="Limits of key console-tests")).to_be_visible()
    expect(page.get_by_text("Empty: no limit (the operator set no default).").first).to_be_visible()
    look(page, "key-limits")

    page.get_by_label("Requests per minute").fill("0")
    page.get_by_label("Allowed models").fill("gpt-4o, claude-*")
    page.get_by_role("button", name="Save").click()
    field = page.get_by_label("Requests per minute")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("greater than or equal to 1")).to_be_visible()
    expect(page.get_by_label("Allowed models")).to_have_value("gpt-4o, claude-*")  # kept for a second try
    look(page, "key-limits-refused")

    field.fill("60")
    page.get_by_label("Calls at once").fill("2")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(_row(page, "console-tests")).to_contain_text("60/min · 2 at once · models: gpt-4o, claude-*")
    with user.api(stack) as api:
        (key,) = api.get("/keys").json()
    assert (key["requests_per_minute"], key["concurrency"], key["tokens_per_day"]) == (60, 2, None)
    assert key["allowed_models"] == ["gpt-4o", "claude-*"]

    # Emptied fields go back to the defaults.
    page.get_by_role("link", name="Edit the limits of key console-tests").click()
    expect(page.get_by_label("Requests per minute")).to_have_value("60")
    page.get_by_label("Requests per minute").fill("")
    page.get_by_label("Allowed models").fill("")
    page.get_by_role("button", name="Save").click()
    expect(_row(page, "console-tests")).to_contain_text("2 at once")
    with user.api(stack) as api:
        (key,) = api.get("/keys").json()
    assert (key["requests_per_minute"], key["concurrency"], key["allowed_models"]) == (None, 2, None)


def test_another_users_key_limits_are_not_found(page: Page, make_user, stack):
    owner, other = make_user(), make_user()
    with owner.api(stack) as api:
        (key,) = api.get("/keys").json()
    sign_in(page, other)
    response = page.goto(f"/keys/{key['id']}/limits")
    assert response is not None and response.status == 404
