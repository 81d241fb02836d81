"""The Dreamina section: adding one account (errors next to the field), importing mixed lines (each
refused line's number and reason, the good ones stored), the list's columns (a region tag on every
row, a cn expiry shown as display only, can log in, credits, today's calls, the last check), export
and re-import as another user, refresh and restore through the refresh worker and the fake
jimeng-api, masking, and isolation between users (by URL too)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
from playwright.sync_api import Locator, Page

from tests.console.conftest import User, expect, look, sign_in
from tests.support.stack import Stack


def _email() -> str:
    return f"dm-{uuid.uuid4().hex[:10]}@example.com"


def _sid() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex[:8]


def _add(stack: Stack, user: User, region: str, *, password: str = "", sessionid: str | None = None) -> dict:
    """A Dreamina account through the management API (a sessionid: active at once)."""
    body: dict[str, Any] = {"email": _email(), "password": password, "region": region}
    body["sessionid"] = sessionid or _sid()
    with user.api(stack) as api:
        created = api.post("/accounts/dreamina", json=body)
    assert created.status_code == 201, created.text
    return created.json() | {"sent": body}


def _jimeng(stack: Stack, sessionid: str, **state: Any) -> None:
    with stack.fake("jimeng") as fake:
        fake.post(f"/_fake/jimeng/tokens/{sessionid}", json=state).raise_for_status()


def _row(page: Page, name: str) -> Locator:
    return page.get_by_role("row", name=re.compile(re.escape(name)))


def _account_rows(page: Page) -> Locator:
    """The list's rows, by their selection boxes ("Select <name>")."""
    return page.get_by_role("checkbox", name=re.compile(r"^Select .+@example\.com$"))


def _reload_until(page: Page, name: str, text: str, timeout_s: float = 30) -> Locator:
    """The row of account `name` once it shows `text` (the refresh worker acts in the background)."""
    deadline = time.monotonic() + timeout_s
    while True:
        row = _row(page, name)
        if text in row.inner_text():
            return row
        assert time.monotonic() < deadline, f"{name!r} never showed {text!r}: {row.inner_text()}"
        time.sleep(0.3)
        page.reload()


def _no_secrets(page: Page, *secrets: str) -> None:
    html = page.content()
    for secret in secrets:
        assert secret not in html, "a secret is in the page"


def _session(page: Page) -> tuple[dict[str, str], str]:
    """The page's cookies and CSRF token: for requests a page could not make (by URL)."""
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    return {c["name"]: c["value"] for c in page.context.cookies()}, token


def _export(page: Page) -> str:
    with page.expect_download() as download:
        page.get_by_role("button", name="Export accounts").click()
    assert download.value.suggested_filename == "dreamina_accounts.txt"
    return download.value.path().read_text()


def test_adding_one_account_through_the_form(page: Page, make_user, stack):
    user = make_user()
    sign_in(page, user)
    page.goto("/dreamina")
    expect(page.get_by_role("heading", name="Dreamina accounts", level=1)).to_be_visible()
    look(page, "dreamina-empty")
    page.get_by_role("button", name="Add account").click()
    dialog = page.get_by_role("dialog", name="Add a Dreamina account")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Sessionid (required for cn)")).to_have_accessible_description(
        re.compile("Required for cn")
    )
    look(page, "dreamina-add")
    email, password, sid = _email(), f"pw-{uuid.uuid4().hex}", _sid()
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Password").fill(password)
    dialog.get_by_label("Region").select_option("jp")
    dialog.get_by_label("Sessionid (required for cn)").fill(sid)
    dialog.get_by_label("Weight (optional)").fill("7")
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Added.")
    row = _row(page, email)
    expect(row.get_by_text("jp", exact=True)).to_be_visible()
    expect(row.get_by_role("cell", name="7", exact=True)).to_be_visible()
    expect(row.get_by_text(f"jp-{sid[0]}****", exact=True)).to_be_visible()  # masked, with its prefix
    # The refresh worker revalidates a new account at the fake jimeng-api and reads its credits.
    row = _reload_until(page, email, "the sessionid is live")
    expect(row.get_by_text("revalidation")).to_be_visible()
    expect(row.get_by_role("cell", name=re.compile(r"^100\s*read"))).to_be_visible()
    expect(row.get_by_role("cell", name="yes", exact=True)).to_be_visible()  # a password: it can log in
    expect(row.get_by_role("cell", name="0/0", exact=True)).to_be_visible()  # no calls today
    look(page, "dreamina-added")
    _no_secrets(page, password, sid)
    with user.api(stack) as api:
        [item] = api.get("/accounts", params={"kind": "dreamina"}).json()["items"]
    assert (item["name"], item["region"], item["weight"], item["status"]) == (email, "jp", 7, "active")


def test_a_cn_account_without_a_sessionid_is_refused_next_to_the_sessionid_field(page: Page, make_user):
    user = make_user()
    sign_in(page, user)
    page.goto("/dreamina")
    page.get_by_role("button", name="Add account").click()
    dialog = page.get_by_role("dialog", name="Add a Dreamina account")
    email, password = _email(), f"pw-{uuid.uuid4().hex}"
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Password").fill(password)
    dialog.get_by_label("Region").select_option("cn")
    dialog.get_by_role("button", name="Add", exact=True).click()

    dialog = page.get_by_role("dialog", name="Add a Dreamina account")
    expect(dialog).to_be_visible()  # it comes back open, with the error beside the field
    sessionid = dialog.get_by_label("Sessionid (required for cn)")
    expect(sessionid).to_have_attribute("aria-invalid", "true")
    expect(sessionid).to_have_accessible_description(re.compile("a cn account needs a sessionid"))
    expect(dialog.get_by_label("Email")).to_have_value(email)  # kept
    expect(dialog.get_by_label("Region")).to_have_value("cn")
    expect(dialog.get_by_label("Password")).to_have_value("")  # a secret is never sent back
    expect(dialog.get_by_label("Email")).not_to_have_attribute("aria-invalid", "true")
    look(page, "dreamina-add-cn-without-sessionid")
    _no_secrets(page, password)
    expect(page.get_by_role("cell", name="No Dreamina accounts match.", exact=False)).to_be_visible()

    # A password with ':' cannot be exported in the import format: refused beside the password.
    secret = f"pw:{uuid.uuid4().hex}"
    dialog.get_by_label("Password").fill(secret)
    dialog.get_by_label("Sessionid (required for cn)").fill(_sid())
    dialog.get_by_role("button", name="Add", exact=True).click()
    password_field = page.get_by_role("dialog").get_by_label("Password")
    expect(password_field).to_have_attribute("aria-invalid", "true")
    expect(password_field).to_have_accessible_description(re.compile("must not contain ':'"))
    _no_secrets(page, secret)


def test_an_email_the_owner_already_has_is_refused_next_to_the_email(page: Page, make_user, stack):
    user = make_user()
    taken = _add(stack, user, "us")["sent"]["email"]
    sign_in(page, user)
    page.goto("/dreamina")
    page.get_by_role("button", name="Add account").click()
    dialog = page.get_by_role("dialog", name="Add a Dreamina account")
    dialog.get_by_label("Email").fill(taken)
    sid = _sid()
    dialog.get_by_label("Sessionid (required for cn)").fill(sid)
    dialog.get_by_role("button", name="Add", exact=True).click()
    email = page.get_by_role("dialog").get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile("duplicate email"))
    look(page, "dreamina-add-duplicate-email")
    _no_secrets(page, sid)
    expect(page.get_by_role("row", name=re.compile(re.escape(taken)))).to_have_count(1)  # not a second one
    # The list's links still work from the page the form came back on.
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.get_by_role("link", name="Region").click()
    expect(page).to_have_url(re.compile(r"/dreamina\?sort=region$"))


def test_importing_mixed_lines_stores_the_good_ones_and_reports_each_refused_line(page: Page, make_user):
    user = make_user()
    a, b, c, d, e = (_email() for _ in range(5))
    sids = [_sid() for _ in range(3)]
    text = "\n".join(
        [
            f"{a}:pw-a-{sids[0][:6]}:us:{sids[0]}",  # 1 imported
            "# a comment",  # 2 skipped
            f"{b}::cn:{sids[1]}",  # 3 imported: cn, no password
            f"{c}:pw-c:xx",  # 4 unknown region
            f"{d}::cn",  # 5 cn without a sessionid
            "",  # 6 skipped
            f"{a}:pw-again:hk:{_sid()}",  # 7 the same e-mail as line 1
            "just-one-field",  # 8 no region
            f"{e}:pw-e:SG:{sids[2]}",  # 9 imported (the region's case does not matter)
        ]
    )
    sign_in(page, user)
    page.goto("/dreamina")
    page.get_by_role("button", name="Import accounts").click()
    dialog = page.get_by_role("dialog", name="Import Dreamina accounts")
    lines = dialog.get_by_label("Lines")
    expect(lines).to_have_accessible_description(re.compile(r"email:password:region\[:sessionid\]"))
    expect(dialog.get_by_text("user@example.com::cn:SESSIONID", exact=True)).to_be_visible()
    look(page, "dreamina-import")
    lines.fill(text)
    dialog.get_by_role("button", name="Import", exact=True).click()

    result = page.get_by_role("table", name="Import result")
    expect(page.get_by_text("3 imported, 4 rejected.")).to_be_visible()
    verdicts = {
        int(cells[0]): (cells[1], cells[2])
        for cells in (r.split("\t") for r in result.get_by_role("row").all_inner_texts()[1:])
    }
    assert verdicts.keys() == {1, 3, 4, 5, 7, 8, 9}
    assert (
        verdicts[1] == ("imported", a) and verdicts[3] == ("imported", b) and verdicts[9] == ("imported", e)
    )
    assert verdicts[4][0] == "rejected" and "unknown Dreamina region 'xx'" in verdicts[4][1]
    assert verdicts[5][0] == "rejected" and "a cn account needs a sessionid" in verdicts[5][1]
    assert verdicts[7] == ("rejected", "duplicate email: already on line 1")
    assert verdicts[8][0] == "rejected" and verdicts[8][1].startswith("missing region")
    look(page, "dreamina-import-result")
    for email, region in ((a, "us"), (b, "cn"), (e, "sg")):
        expect(_row(page, email).get_by_text(region, exact=True)).to_be_visible()
    for email in (c, d):
        expect(page.get_by_role("row", name=re.compile(re.escape(email)))).to_have_count(0)
    _no_secrets(page, *sids, f"pw-a-{sids[0][:6]}")
    # Nothing to import is said next to the field; nothing is stored.
    page.get_by_role("button", name="Import accounts").click()
    page.get_by_role("dialog").get_by_role("button", name="Import", exact=True).click()
    lines = page.get_by_role("dialog", name="Import Dreamina accounts").get_by_label("Lines")
    expect(lines).to_have_attribute("aria-invalid", "true")
    expect(lines).to_have_accessible_description(re.compile("Paste the text to import"))
    look(page, "dreamina-import-empty")
    # A file that is not text is refused next to the file field.
    dialog = page.get_by_role("dialog", name="Import Dreamina accounts")
    dialog.get_by_label("Or choose a file").set_input_files(
        files=[{"name": "accounts.txt", "mimeType": "text/plain", "buffer": b"\xff\xfe\x00bad"}]
    )
    dialog.get_by_role("button", name="Import", exact=True).click()
    file = page.get_by_role("dialog", name="Import Dreamina accounts").get_by_label("Or choose a file")
    expect(file).to_have_attribute("aria-invalid", "true")
    expect(file).to_have_accessible_description("The file is not UTF-8 text.")
    expect(_account_rows(page)).to_have_count(3)  # still the three accounts of the first import


def test_every_row_has_its_region_and_a_cn_expiry_is_display_only(page: Page, make_user, stack):
    user = make_user()
    accounts = {region: _add(stack, user, region, password="pw") for region in ("us", "hk", "jp", "sg", "cn")}
    sign_in(page, user)
    page.goto("/dreamina?sort=region")
    expect(page.get_by_role("columnheader", name="Region")).to_have_attribute("aria-sort", "ascending")
    for region, account in accounts.items():
        row = _row(page, account["name"])
        expect(row.get_by_text(region, exact=True)).to_be_visible()
        display_only = row.get_by_text("display only", exact=True)
        expect(display_only).to_have_count(1 if region == "cn" else 0)
        can_log_in = "no" if region == "cn" else "yes"  # cn never logs in, even with a password
        expect(row.get_by_role("cell", name=re.compile(f"^{can_log_in}"))).to_be_visible()
    cn_row = _row(page, accounts["cn"]["name"])
    expect(cn_row.get_by_text("cn accounts never log in")).to_be_visible()
    look(page, "dreamina-regions")
    page.get_by_role("form", name="Filter the list").get_by_label("Region").select_option("cn")
    page.get_by_role("button", name="Show").click()
    expect(_account_rows(page)).to_have_count(1)
    expect(_row(page, accounts["cn"]["name"])).to_be_visible()


def test_export_and_reimport_as_another_user_give_the_same_accounts(page: Page, make_user, stack):
    alice, bob = make_user(), make_user()
    lines = [
        f"{_email()}:pw-1:us:{_sid()}",
        f"{_email()}::cn:{_sid()}",
        f"{_email()}:pw-3:hk:{_sid()}",
        f"{_email()}:pw-4:sg:{_sid()}",
    ]
    with alice.api(stack) as api:
        report = api.post("/accounts/dreamina/import", json={"text": "\n".join(lines)}).json()
    assert report["imported"] == 4, report
    sign_in(page, alice)
    page.goto("/dreamina")
    exported = _export(page)
    assert exported.endswith("\n")
    assert sorted(exported.splitlines()) == sorted(lines)  # the import format, with the region

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, bob)
    page.goto("/dreamina")
    page.get_by_role("button", name="Import accounts").click()
    dialog = page.get_by_role("dialog", name="Import Dreamina accounts")
    dialog.get_by_label("Or choose a file").set_input_files(
        files=[{"name": "dreamina_accounts.txt", "mimeType": "text/plain", "buffer": exported.encode()}]
    )
    dialog.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("4 imported, 0 rejected.")).to_be_visible()
    look(page, "dreamina-reimported")
    assert sorted(_export(page).splitlines()) == sorted(lines)

    def accounts(user: User) -> list[tuple]:
        with user.api(stack) as api:
            items = api.get("/accounts", params={"kind": "dreamina", "sort": "name"}).json()["items"]
        return [(a["name"], a["region"], a["can_login"], a["weight"], a["secrets"]) for a in items]

    assert accounts(bob) == accounts(alice)


def test_refresh_and_restore(page: Page, make_user, stack):
    user = make_user()
    account = _add(stack, user, "us")  # no password: it cannot log in
    name, sid = account["name"], account["sent"]["sessionid"]
    sign_in(page, user)
    page.goto("/dreamina")
    _reload_until(page, name, "the sessionid is live")  # the check of the new account

    _jimeng(stack, sid, live=False)
    _row(page, name).get_by_role("button", name=f"Refresh {name}").click()
    expect(page.get_by_role("status")).to_contain_text("A refresh was requested")
    row = _reload_until(page, name, "invalid")
    dead = "the upstream says the sessionid is dead, and the account cannot log in (no password)"
    expect(row.get_by_role("cell", name=re.compile(r"^invalid"))).to_contain_text(dead)
    expect(row.get_by_role("cell", name=re.compile(r"^failed"))).to_contain_text(dead)
    expect(row.get_by_role("cell", name=re.compile("^no")).first).to_contain_text("no password")
    look(page, "dreamina-invalid")

    _jimeng(stack, sid, live=True)  # the sessionid was renewed elsewhere: the person restores it
    row.get_by_role("button", name=f"Restore {name}").click()
    expect(page.get_by_role("status")).to_have_text("Restored.")
    row = _row(page, name)
    expect(row.get_by_role("cell", name=re.compile(r"^active"))).to_contain_text(f"restored by {user.name}")
    expect(row.get_by_role("button", name=f"Restore {name}")).to_have_count(0)
    look(page, "dreamina-restored")


def test_the_page_never_holds_a_password_or_a_whole_sessionid(page: Page, make_user, stack):
    user, admin = make_user(), make_user(admin=True)
    secrets = []
    for region in ("us", "cn"):
        account = _add(stack, user, region, password=f"pw-{uuid.uuid4().hex}")
        secrets += [account["sent"]["password"], account["sent"]["sessionid"]]
    sign_in(page, user)
    for path in ("/dreamina", "/dreamina?per_page=200&sort=expires", "/"):
        page.goto(path)
        _no_secrets(page, *secrets)
    us_sid = secrets[1]
    expect(page.get_by_role("heading", name="Your pool")).to_be_visible()
    page.goto("/dreamina")
    expect(page.get_by_text(f"us-{us_sid[0]}****", exact=True)).to_be_visible()
    # An admin's list of a user's accounts masks them the same way, and names the owner.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, admin)
    page.goto(f"/dreamina?owner={user.name}")
    expect(page.get_by_role("columnheader", name="Owner")).to_be_visible()
    expect(page.get_by_role("cell", name=user.name, exact=True)).to_have_count(2)
    expect(page.get_by_role("link", name="Refresh jobs")).to_have_attribute("href", "/jobs")
    _no_secrets(page, *secrets)
    look(page, "dreamina-admin")


def test_users_see_act_on_and_export_their_own_accounts_only(page: Page, make_user, stack):
    alice, bob = make_user(), make_user()
    theirs = _add(stack, alice, "hk", password="pw-alice")
    sign_in(page, bob)
    page.goto("/dreamina")
    expect(page.get_by_role("row", name=re.compile(re.escape(theirs["name"])))).to_have_count(0)
    expect(page.get_by_role("link", name="Refresh jobs")).to_have_attribute("href", "/jobs")  # their own jobs
    assert _export(page) == ""
    cookies, token = _session(page)
    base = stack.account_service_url
    html = {"accept": "text/html"}
    for action in ("refresh", "restore", "disable", "delete"):
        answer = httpx.post(
            f"{base}/accounts/{theirs['id']}/{action}",
            cookies=cookies,
            data={"csrf_token": token, "next": "/dreamina"},
            headers=html,
        )
        assert answer.status_code == 404, (action, answer.status_code)
    for answer in (
        httpx.get(f"{base}/dreamina", params={"owner": alice.name}, cookies=cookies, headers=html),
        httpx.post(
            f"{base}/dreamina/export", data={"csrf_token": token, "owner": alice.name}, cookies=cookies
        ),
    ):
        assert answer.status_code == 403, answer.status_code
        assert theirs["name"] not in answer.text and "pw-alice" not in answer.text
    with alice.api(stack) as api:
        assert api.get(f"/accounts/{theirs['id']}").json()["status"] == "active"


def test_the_export_needs_the_pages_csrf_token(page: Page, make_user, stack):
    user = make_user()
    account = _add(stack, user, "us", password="pw-export")
    sign_in(page, user)
    page.goto("/dreamina")
    cookies, token = _session(page)
    url = f"{stack.account_service_url}/dreamina/export"
    refused = httpx.post(url, cookies=cookies, data={}, headers={"accept": "text/html"})
    assert refused.status_code == 403 and "pw-export" not in refused.text
    cross_site = httpx.post(
        url, cookies=cookies, data={"csrf_token": token}, headers={"origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403 and "pw-export" not in cross_site.text
    answer = httpx.post(url, cookies=cookies, data={"csrf_token": token})
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="dreamina_accounts.txt"'
    assert answer.headers["cache-control"] == "no-store"
    assert answer.text == f"{account['name']}:pw-export:us:{account['sent']['sessionid']}\n"
