"""The account lists every kind shares: sorting, filtering, pagination, each row's actions, bulk actions
with confirmation, the owner column for admins, and isolation between users (by URL too)."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Page

from tests.console.conftest import User, expect, look, sign_in


def _custom(stack, user: User, name: str) -> dict:
    with user.api(stack) as api:
        created = api.post(
            "/accounts/custom_api",
            json={
                "name": name,
                "api_base": f"{stack.openai_url}/v1",
                "api_key": f"sk-{uuid.uuid4().hex}",
                "format": "openai",
            },
        )
    assert created.status_code == 201, created.text
    return created.json()


def _rows(page: Page) -> list[str]:
    """The Name column's cells, in the order shown."""
    return page.get_by_role("table").locator("tbody tr td:nth-child(2)").all_inner_texts()


def test_sort_filter_and_page_through(page: Page, make_user, stack):
    user = make_user()
    for n in (3, 1, 2):
        _custom(stack, user, f"acct-{n}")
    sign_in(page, user)
    page.goto("/custom")
    expect(page.get_by_role("heading", name="Custom APIs", level=1)).to_be_visible()
    assert _rows(page) == ["acct-2", "acct-1", "acct-3"]  # newest first
    page.get_by_role("link", name="Name").click()
    assert _rows(page) == ["acct-1", "acct-2", "acct-3"]
    expect(page.get_by_role("columnheader", name="Name")).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("link", name="Name").click()
    assert _rows(page) == ["acct-3", "acct-2", "acct-1"]
    look(page, "custom-list-sorted")

    page.get_by_role("button", name="Disable acct-2").click()
    expect(page.get_by_role("status")).to_have_text("Disabled.")
    assert _rows(page) == ["acct-3", "acct-2", "acct-1"]  # the sort survived the action
    page.get_by_label("Status").select_option("disabled")
    page.get_by_role("button", name="Show").click()
    assert _rows(page) == ["acct-2"]
    page.get_by_role("button", name="Enable acct-2").click()
    expect(page.get_by_role("cell", name="No accounts match.")).to_be_visible()

    page.goto("/custom?per_page=1&sort=name")
    assert _rows(page) == ["acct-1"]
    expect(page.get_by_text("Page 1 of 3")).to_be_visible()
    page.get_by_role("link", name="Next").click()
    assert _rows(page) == ["acct-2"]


def test_bulk_actions_ask_first_and_act_on_the_selected_rows(page: Page, make_user, stack):
    user = make_user()
    for n in range(3):
        _custom(stack, user, f"bulk-{n}")
    sign_in(page, user)
    page.goto("/custom?sort=name")
    page.get_by_label("Select bulk-0").check()
    page.get_by_label("Select bulk-2").check()
    page.get_by_label("With the selected accounts").select_option("disable")
    page.once("dialog", lambda d: d.dismiss())  # asked, and said no: nothing happens
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.get_by_role("table").get_by_text("disabled", exact=True)).to_have_count(0)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Disabled.")
    for name, status in (("bulk-0", "disabled"), ("bulk-1", "active"), ("bulk-2", "disabled")):
        row = page.get_by_role("row", name=re.compile(name))
        expect(row.get_by_text(status, exact=True)).to_be_visible()

    page.get_by_label("Select all on this page").check()
    page.get_by_label("With the selected accounts").select_option("delete")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Deleted.")
    expect(page.get_by_role("cell", name="No accounts match.")).to_be_visible()


def test_delete_asks_first(page: Page, make_user, stack):
    user = make_user()
    _custom(stack, user, "keep-or-not")
    sign_in(page, user)
    page.goto("/custom")
    page.once("dialog", lambda d: d.dismiss())
    page.get_by_role("button", name="Delete keep-or-not").click()
    expect(page.get_by_role("cell", name="keep-or-not", exact=True)).to_be_visible()
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete keep-or-not").click()
    expect(page.get_by_role("status")).to_have_text("Deleted.")
    expect(page.get_by_role("cell", name="keep-or-not", exact=True)).to_have_count(0)


def test_users_see_and_act_on_their_own_accounts_only(page: Page, make_user, stack):
    alice, bob = make_user(), make_user()
    theirs = _custom(stack, alice, "alices")
    sign_in(page, bob)
    page.goto("/custom")
    expect(page.get_by_role("cell", name="alices", exact=True)).to_have_count(0)
    # By URL: Bob's session and CSRF token, Alice's account: as missing as an unknown one.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    for action in ("delete", "disable", "refresh"):
        answer = httpx.post(
            f"{stack.account_service_url}/accounts/{theirs['id']}/{action}",
            cookies=cookies,
            data={"csrf_token": token, "next": "/custom"},
            headers={"accept": "text/html"},
        )
        assert answer.status_code == 404, (action, answer.status_code)
    with alice.api(stack) as api:
        assert api.get(f"/accounts/{theirs['id']}").json()["status"] == "active"


def test_admins_see_every_owner(page: Page, make_user, stack):
    alice, admin = make_user(), make_user(admin=True)
    _custom(stack, alice, "owned-by-alice")
    sign_in(page, admin)
    page.goto(f"/custom?owner={alice.name}")
    row = page.get_by_role("row", name=re.compile("owned-by-alice"))
    expect(row.get_by_role("cell", name=alice.name, exact=True)).to_be_visible()
    look(page, "custom-list-admin")


def test_every_kind_on_one_page_filtered_by_kind(page: Page, make_user, stack):
    user = make_user()
    _custom(stack, user, "one-of-many")
    with user.api(stack) as api:
        created = api.post(
            "/accounts/kiro", json={"refresh_token": f"rt-{uuid.uuid4().hex}", "name": "a-kiro"}
        )
        assert created.status_code == 201, created.text
    sign_in(page, user)
    page.goto("/accounts?sort=name")
    assert _rows(page) == ["a-kiro", "one-of-many"]
    look(page, "all-accounts")
    page.get_by_label("Kind", exact=True).select_option("kiro")
    page.get_by_role("button", name="Show").click()
    assert _rows(page) == ["a-kiro"]
    expect(page.get_by_role("row", name=re.compile("a-kiro")).get_by_text("us-east-1")).to_be_visible()


def test_quota_left_shows_with_its_reset_and_sorts(page: Page, make_user, stack):
    from datetime import UTC, datetime, timedelta

    from shared.settings import DEV_SERVICE_TOKEN

    user = make_user()
    low, unknown = _custom(stack, user, "quota-low"), _custom(stack, user, "quota-unknown")
    now = datetime.now(UTC)
    limits = {
        "remaining": 12.5,
        "limit": 50,
        "resets_at": (now + timedelta(days=3)).isoformat(),
        "read_at": now.isoformat(),
    }
    checked = httpx.post(
        f"{stack.account_service_url}/internal/v1/accounts/{low['id']}/checks",
        headers={"authorization": f"Bearer {DEV_SERVICE_TOKEN}"},
        json={"kind": "refresh", "ok": True, "checked_at": now.isoformat(), "usage_limits": limits},
    )
    assert checked.status_code == 200, checked.text
    sign_in(page, user)
    page.goto("/custom?sort=-quota")
    expect(page.get_by_role("columnheader", name="Quota left")).to_have_attribute("aria-sort", "descending")
    row = page.get_by_role("row").filter(has_text="quota-low")
    expect(row.get_by_text("25%")).to_have_attribute("title", "12.5 of 50 left")
    expect(row.get_by_text(re.compile(r"resets in 3 days"))).to_be_visible()
    expect(
        page.get_by_role("row").filter(has_text="quota-unknown").get_by_text("not reported")
    ).to_be_visible()
    assert _rows(page) == ["quota-low", "quota-unknown"]  # no reading sorts last
    look(page, "custom-list-quota")
    page.goto("/accounts")
    expect(page.get_by_role("row").filter(has_text="quota-low").get_by_text("25%")).to_be_visible()
    assert unknown["id"]
