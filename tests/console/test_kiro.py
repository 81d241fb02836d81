"""The Kiro tokens section: the add form (region selector, errors next to their fields, secrets never
written back), the KiroGate import with a verdict per entry, the list's columns (region, chat region,
token expiry, last refresh), refresh now and editing a credential (both carried out by the real
refresh worker against the fake Kiro), and isolation between users, by URL too."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable

import httpx
from playwright.sync_api import Locator, Page

from services.account_service.accounts.rules import KIRO_REGIONS
from tests.console.conftest import User, expect, look, sign_in

CLIENT = {"client_id": "idc-client-console", "client_secret": "idc-secret-console-0123456789"}


def _token() -> str:
    """A refresh token whose first four characters (all a list shows of it) are its own."""
    return f"{uuid.uuid4().hex}-rt"


def _register(stack, token: str, region: str = "us-east-1", **client: str) -> None:
    """Make the fake Kiro accept `token` at `region`'s auth host only (anew, if it was revoked)."""
    lineage = {"refresh_token": token, "region": region, "auth": "idc" if client else "social", **client}
    with stack.fake("kiro") as fake:
        fake.post("/_fake/kiro/lineages", json=lineage).raise_for_status()


def _api_add(stack, user: User, token: str, **fields: str) -> dict:
    with user.api(stack) as api:
        created = api.post("/accounts/kiro", json={"refresh_token": token, **fields})
    assert created.status_code == 201, created.text
    return created.json()


def _row(page: Page, name: str) -> Locator:
    return page.get_by_role("row", name=re.compile(re.escape(name)))


def _reload_until(page: Page, shown: Callable[[], Locator], timeout_s: float = 45) -> None:
    """The refresh worker answers in its own time: reload the list until `shown()` is visible."""
    deadline = time.monotonic() + timeout_s
    while True:
        page.reload()
        try:
            expect(shown()).to_be_visible(timeout=1_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def _add_form(page: Page) -> Locator:
    return page.get_by_role("form", name="Add a token")


def test_a_token_added_with_its_region_is_validated_by_a_real_refresh(page: Page, make_user, stack):
    user = make_user()
    token = _token()
    _register(stack, token, "eu-west-1")
    sign_in(page, user)
    page.goto("/kiro")
    expect(page.get_by_role("heading", name="Kiro tokens", level=1)).to_be_visible()
    form = _add_form(page)
    region = form.get_by_label("Region", exact=True)
    expect(region).to_have_value("us-east-1")
    options = region.locator("option").all_inner_texts()
    assert options == list(KIRO_REGIONS) == ["us-east-1", "ap-southeast-1", "eu-west-1"]
    look(page, "kiro-list-empty")

    form.get_by_label("Refresh token").fill(token)
    region.select_option("eu-west-1")
    form.get_by_label("Name").fill("my-eu-token")
    form.get_by_role("button", name="Add token").click()
    expect(page.get_by_role("status")).to_have_text("Added.")
    row = _row(page, "my-eu-token")
    expect(row.get_by_text("eu-west-1").first).to_be_visible()

    # The worker refreshes the new token at eu-west-1's host; the list shows what it found.
    _reload_until(page, lambda: _row(page, "my-eu-token").get_by_text("access token refreshed"))
    row = _row(page, "my-eu-token")
    expect(row.get_by_text("active", exact=True)).to_be_visible()
    expect(row.get_by_text("ok", exact=True)).to_be_visible()
    expect(row.get_by_text("from its profile ARN")).to_be_visible()  # the chat region and why
    expect(row.get_by_role("cell", name=re.compile(r"^in \d+ \w+"))).to_be_visible()  # token expiry
    with user.api(stack) as api:
        (view,) = api.get("/accounts", params={"kind": "kiro"}).json()["items"]
    assert (view["region"], view["chat_region"], view["chat_region_source"]) == (
        "eu-west-1",
        "eu-west-1",
        "profile_arn",
    )
    assert token not in page.content()
    look(page, "kiro-list")


def test_the_add_form_shows_each_error_next_to_its_field_and_keeps_no_secret(page: Page, make_user, stack):
    user = make_user()
    sign_in(page, user)
    page.goto("/kiro")
    form = _add_form(page)
    bad_token = f"two words {uuid.uuid4().hex}"
    form.get_by_label("Refresh token").fill(bad_token)
    form.get_by_label("Region", exact=True).select_option("ap-southeast-1")
    form.get_by_label("Name").fill("kept-name")
    form.get_by_role("button", name="Add token").click()

    form = _add_form(page)
    field = form.get_by_label("Refresh token")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile("must be one word without spaces"))
    expect(field).to_have_value("")  # not written back: a note asks to paste it again
    expect(field).to_have_accessible_description(re.compile("paste it again"))
    expect(form.get_by_label("Name")).to_have_value("kept-name")
    expect(form.get_by_label("Region", exact=True)).to_have_value("ap-southeast-1")
    expect(form.get_by_label("IdC client secret")).not_to_have_attribute("aria-invalid", "true")
    assert bad_token not in page.content()
    look(page, "kiro-add-errors")

    # An IdC client id without its secret: the error is the secret's.
    form.get_by_label("Refresh token").fill(_token())
    form.get_by_label("IdC client id").fill("client-without-secret")
    form.get_by_role("button", name="Add token").click()
    form = _add_form(page)
    secret = form.get_by_label("IdC client secret")
    expect(secret).to_have_attribute("aria-invalid", "true")
    expect(secret).to_have_accessible_description(re.compile("client_secret is required"))
    expect(form.get_by_label("Refresh token")).not_to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("IdC client id")).to_have_value("client-without-secret")
    with user.api(stack) as api:
        assert api.get("/accounts", params={"kind": "kiro"}).json()["total"] == 0


def test_an_import_reports_every_entry_and_stores_the_valid_ones(page: Page, make_user, stack):
    user = make_user()
    good_ap, good_default, idc = _token(), _token(), _token()
    entries = [
        {"refreshToken": good_ap, "region": "ap-southeast-1", "accessToken": "ignored", "expiresAt": "x"},
        {"clientId": "no-token-here"},
        {"refreshToken": good_default},  # no region: the form's default region
        {"refreshToken": "two words", "region": "eu-west-1"},
        {"refreshToken": good_ap},  # the same token again
        {"refreshToken": idc, "clientId": "cid-1", "region": "mars-north-1", "clientSecret": "s"},
    ]
    sign_in(page, user)
    page.goto("/kiro")
    form = page.get_by_role("form", name="Import KiroGate JSON")
    form.get_by_role("button", name="Import").click()  # nothing to import: said next to the text
    form = page.get_by_role("form", name="Import KiroGate JSON")
    expect(form.get_by_label("Tokens (JSON)")).to_have_attribute("aria-invalid", "true")
    tokens = form.get_by_label("Tokens (JSON)")
    expect(tokens).to_have_accessible_description(re.compile("Paste the text to import"))

    form.get_by_label("Tokens (JSON)").fill(json.dumps(entries))
    form.get_by_label("Region of entries that name none").select_option("eu-west-1")
    form.get_by_role("button", name="Import").click()

    expect(page.get_by_role("status")).to_have_text("2 imported, 4 rejected.")
    result = page.get_by_role("table", name="Import result")
    verdicts = [r.split("\t") for r in result.locator("tbody tr").all_inner_texts()]
    assert [(entry, verdict.split(" ")[0]) for entry, verdict in verdicts] == [
        ("1", "imported"),
        ("2", "rejected"),
        ("3", "imported"),
        ("4", "rejected"),
        ("5", "rejected"),
        ("6", "rejected"),
    ]
    assert "refresh_token: missing" in verdicts[1][1]
    assert "must be one word" in verdicts[3][1]
    assert "duplicate refresh token: already on line 1" in verdicts[4][1]
    assert "unsupported Kiro region 'mars-north-1'" in verdicts[5][1]
    content = page.content()
    assert not any(t in content for t in (good_ap, good_default, idc))
    look(page, "kiro-import-result")

    # The valid entries are in the list, each with its region; the region filter finds them.
    accounts = page.get_by_role("table", name=re.compile("Kiro tokens"))
    expect(accounts.get_by_text("ap-southeast-1", exact=True)).to_have_count(1)
    expect(accounts.get_by_text("eu-west-1", exact=True)).to_have_count(1)
    page.get_by_role("form", name="Filter the list").get_by_label("Region").select_option("eu-west-1")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name=re.compile(r"Kiro tokens \(1\)"))).to_be_visible()
    with user.api(stack) as api:
        stored = api.get("/accounts", params={"kind": "kiro", "sort": "region"}).json()["items"]
    assert [(a["region"], a["secrets"]["refresh_token"]) for a in stored] == [
        ("ap-southeast-1", good_ap[:4] + "****"),
        ("eu-west-1", good_default[:4] + "****"),
    ]

    # A file works the same (here: JSON Lines).
    from_file = _token()
    page.goto("/kiro")
    form = page.get_by_role("form", name="Import KiroGate JSON")
    form.get_by_label("Or a JSON file").set_input_files(
        files=[
            {
                "name": "kiro.jsonl",
                "mimeType": "application/json",
                "buffer": f'{{"refreshToken": "{from_file}"}}\n{{"refreshToken": ""}}\n'.encode(),
            }
        ]
    )
    form.get_by_role("button", name="Import").click()
    expect(page.get_by_role("status")).to_have_text("1 imported, 1 rejected.")
    with user.api(stack) as api:
        assert api.get("/accounts", params={"kind": "kiro"}).json()["total"] == 3


def test_refresh_now_shows_the_workers_result(page: Page, make_user, stack):
    user = make_user()
    token = _token()
    _register(stack, token)
    with stack.fake("kiro") as fake:  # its refreshes answer invalid_grant until it is registered again
        fake.post(f"/_fake/kiro/lineages/{token}/revoke").raise_for_status()
    account = _api_add(stack, user, token, name="fix-me")
    sign_in(page, user)
    page.goto("/kiro")
    _reload_until(page, lambda: _row(page, "fix-me").get_by_text("failed", exact=True))
    expect(_row(page, "fix-me").get_by_text("invalid", exact=True)).to_be_visible()
    look(page, "kiro-list-refresh-failed")

    _register(stack, token)
    page.get_by_role("button", name="Refresh fix-me").click()
    expect(page.get_by_role("status")).to_contain_text("A refresh was requested")
    _reload_until(page, lambda: _row(page, "fix-me").get_by_text("access token refreshed"))
    row = _row(page, "fix-me")
    expect(row.get_by_text("ok", exact=True)).to_be_visible()
    expect(row.get_by_text("active", exact=True)).to_be_visible()
    with user.api(stack) as api:
        assert api.get(f"/accounts/{account['id']}").json()["last_check"]["ok"] is True


def test_editing_a_credential_stores_the_new_one_and_validates_it(page: Page, make_user, stack):
    user = make_user()
    old, new = _token(), _token()
    _register(stack, old)
    account = _api_add(stack, user, old, name="to-edit")
    _register(stack, new, "ap-southeast-1", **CLIENT)
    sign_in(page, user)
    page.goto("/kiro")
    # Edited once its first refresh is done (an edit racing that refresh is the worker's business).
    _reload_until(page, lambda: _row(page, "to-edit").get_by_text("active", exact=True))
    page.get_by_role("link", name="Edit the credential of to-edit").click()
    expect(page.get_by_role("heading", name="Edit the credential of to-edit")).to_be_visible()
    expect(page.get_by_text(old[:4] + "****")).to_be_visible()  # the stored token, masked
    look(page, "kiro-edit")

    form = page.get_by_role("form", name="Change")
    form.get_by_label("New refresh token").fill("not one word")
    form.get_by_label("New IdC client secret").fill(CLIENT["client_secret"])
    form.get_by_role("button", name="Save").click()
    form = page.get_by_role("form", name="Change")
    field = form.get_by_label("New refresh token")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile("must be one word"))
    expect(form.get_by_label("New IdC client secret")).to_have_value("")
    expect(form.get_by_label("New IdC client secret")).to_have_accessible_description(
        re.compile("paste it again")
    )
    assert CLIENT["client_secret"] not in page.content()
    look(page, "kiro-edit-errors")

    form.get_by_label("New refresh token").fill(new)
    form.get_by_label("Region", exact=True).select_option("ap-southeast-1")
    form.get_by_label("New IdC client id").fill(CLIENT["client_id"])
    form.get_by_label("New IdC client secret").fill(CLIENT["client_secret"])
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page).to_have_url(re.compile(r"/kiro\?notice=updated$"))
    expect(_row(page, "to-edit").get_by_text("ap-southeast-1", exact=True)).to_be_visible()

    # The new credential is validated by a refresh at ap-southeast-1's IdC host.
    _reload_until(page, lambda: _row(page, "to-edit").get_by_text("active", exact=True))
    with user.api(stack) as api:
        view = api.get(f"/accounts/{account['id']}").json()
    assert view["region"] == "ap-southeast-1" and view["settings"]["auth_type"] == "idc"
    assert view["secrets"]["refresh_token"] == new[:4] + "****"
    assert view["last_check"]["ok"] is True
    with stack.fake("kiro") as fake:
        assert fake.get(f"/_fake/kiro/lineages/{new}").json()["refresh_count"] >= 1
    assert new not in page.content()


def test_another_users_token_cannot_be_seen_or_edited_by_url(page: Page, make_user, stack):
    alice, bob = make_user(), make_user()
    theirs = _api_add(stack, alice, _token(), name="alices-token")
    sign_in(page, bob)
    page.goto("/kiro")
    expect(page.get_by_role("cell", name="alices-token", exact=True)).to_have_count(0)
    answer = page.goto(f"/kiro/{theirs['id']}/edit")
    assert answer is not None and answer.status == 404
    expect(page.get_by_text("no such account")).to_be_visible()

    page.goto("/kiro")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    posted = httpx.post(
        f"{stack.account_service_url}/kiro/{theirs['id']}/edit",
        cookies=cookies,
        data={"csrf_token": token, "name": "taken-over", "refresh_token": _token()},
        headers={"accept": "text/html"},
    )
    assert posted.status_code == 404, posted.status_code
    with alice.api(stack) as api:
        view = api.get(f"/accounts/{theirs['id']}").json()
    assert view["name"] == "alices-token"


def test_a_custom_api_account_is_no_kiro_account(page: Page, make_user, stack):
    user = make_user()
    with user.api(stack) as api:
        custom = api.post(
            "/accounts/custom_api",
            json={
                "api_base": f"{stack.openai_url}/v1",
                "api_key": f"sk-{uuid.uuid4().hex}",
                "format": "openai",
            },
        ).json()
    sign_in(page, user)
    answer = page.goto(f"/kiro/{custom['id']}/edit")
    assert answer is not None and answer.status == 404


def test_the_quota_kiro_reports_shows_in_the_list_and_on_the_edit_page(page: Page, make_user, stack):
    user = make_user()
    token = _token()
    _register(stack, token)
    with stack.fake("kiro") as fake:
        fake.put(f"/_fake/kiro/lineages/{token}/usage", json={"limit": 50, "used": 30}).raise_for_status()
    account = _api_add(stack, user, token, name="quota-token")
    sign_in(page, user)
    page.goto("/kiro")
    # The worker reads the usage limits after its refresh; the list shows what is left and the reset.
    _reload_until(page, lambda: _row(page, "quota-token").get_by_text("40%"))
    row = _row(page, "quota-token")
    expect(row.get_by_text("40%")).to_have_attribute("title", "20 of 50 left")
    expect(row.get_by_text(re.compile(r"^resets in \d+ \w+"))).to_be_visible()
    look(page, "kiro-list-quota")
    page.goto(f"/kiro/{account['id']}/edit")
    expect(page.get_by_text("20 of 50 left")).to_be_visible()
    look(page, "kiro-edit-quota")
