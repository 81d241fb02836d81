"""The admin pages in a real browser: users (create, disable, reset a password, admin rights), the pool
live (calls in flight, cooldowns, refreshing itself), the event stream live with its filter, and jobs
(the Dreamina refreshes, progress, per-account results; a user's own jobs). A user who is no admin
sees none of it: no links, and 403 at every admin URL."""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.console.conftest import PASSWORD, User, expect, look, sign_in
from tests.support.stack import Stack

NEW_PASSWORD = "a brand new password"
ADMIN_LINKS = ("Users", "Pool live", "Events")


@pytest.fixture
def admin(make_user) -> User:
    return make_user(admin=True)


@contextlib.contextmanager
def signed_in_elsewhere(browser: Browser, stack: Stack, user: User) -> Iterator[Page]:
    """`user` signed in in a browser of their own (another person's session)."""
    context = browser.new_context(base_url=stack.account_service_url, locale="en-US")
    context.set_default_timeout(10_000)
    try:
        tab = context.new_page()
        sign_in(tab, user)
        yield tab
    finally:
        context.close()


def _nav(page: Page):
    return page.get_by_role("navigation", name="Sections")


def _user_row(page: Page, name: str):
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile(re.escape(name))))


def _csrf(page: Page) -> str:
    return re.search(r'"X-CSRF-Token": "([^"]+)"', page.locator("body").get_attribute("hx-headers")).group(1)


# -- a user who is no admin ---------------------------------------------------------------------


def test_a_user_sees_no_admin_link_and_every_admin_url_is_403(page: Page, make_user, admin, stack):
    user = make_user()
    sign_in(page, user)
    for name in ADMIN_LINKS:
        expect(_nav(page).get_by_role("link", name=name)).to_have_count(0)
    for url in (
        "/admin/users",
        f"/admin/users/{uuid.uuid4()}/password",
        "/admin/pool",
        "/admin/pool/live",
        "/admin/events",
        "/admin/events/stream?type=%23",
    ):
        response = page.goto(url)
        assert response is not None and response.status == 403, url
    expect(page.get_by_role("alert")).to_have_text("this page is for admins")
    look(page, "admin-refused")
    # Forms posted with the user's own valid CSRF token: still refused, and nothing changed.
    page.goto("/")
    headers = {"x-csrf-token": _csrf(page)}
    made = page.request.post(
        "/admin/users", form={"username": "sneaky", "password": PASSWORD}, headers=headers
    )
    assert made.status == 403
    with admin.api(stack) as api:
        users = {u["username"]: u for u in api.get("/users").json()}
    assert "sneaky" not in users
    promoted = page.request.post(
        f"/admin/users/{users[user.name]['id']}/admin", form={"is_admin": "true"}, headers=headers
    )
    assert promoted.status == 403
    with admin.api(stack) as api:
        after = {u["username"]: u for u in api.get("/users").json()}
    assert "sneaky" not in after and not after[user.name]["is_admin"]


def test_the_live_fragments_send_a_stranger_to_sign_in(stack):
    for url in ("/admin/pool/live", "/jobs/table"):
        answer = httpx.get(f"{stack.account_service_url}{url}", headers={"hx-request": "true"})
        assert answer.headers["hx-redirect"].startswith("/sign-in?next="), url
    stream = httpx.get(
        f"{stack.account_service_url}/admin/events/stream", headers={"accept": "text/event-stream"}
    )
    assert stream.status_code == 303 and stream.headers["location"].startswith("/sign-in")


def test_an_admin_sees_the_admin_links(page: Page, admin):
    sign_in(page, admin)
    for name in ADMIN_LINKS:
        expect(_nav(page).get_by_role("link", name=name)).to_be_visible()


# -- users ---------------------------------------------------------------------------------------


def test_an_admin_creates_a_user_who_can_sign_in(page: Page, admin, make_user, browser, stack):
    taken = make_user()
    name = f"new-{uuid.uuid4().hex[:8]}"
    sign_in(page, admin)
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    look(page, "admin-users")

    page.get_by_label("Username").fill(name)
    page.get_by_label("First password").fill("short")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_label("First password")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("A password needs at least 10 characters.")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value(name)
    look(page, "admin-users-error")

    page.get_by_label("Username").fill(taken.name)
    page.get_by_label("First password").fill(PASSWORD)
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_label("Username")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("This username is taken.")).to_be_visible()

    page.get_by_label("Username").fill("has space")
    page.get_by_label("First password").fill(PASSWORD)
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("A username has 1 to 64 characters")).to_be_visible()

    page.get_by_label("Username").fill(name)
    page.get_by_label("First password").fill(PASSWORD)
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status")).to_have_text("Added.")
    row = _user_row(page, name)
    expect(row).to_contain_text("set")
    expect(row).to_contain_text("user")
    expect(_user_row(page, "short")).to_have_count(0)  # the refused tries left nobody behind
    created = User(name=name, password=PASSWORD, key="")
    with signed_in_elsewhere(browser, stack, created) as theirs:
        expect(theirs.get_by_role("heading", name="Your pool")).to_be_visible()


def test_an_admin_may_create_another_admin(page: Page, admin, browser, stack):
    name = f"boss-{uuid.uuid4().hex[:8]}"
    sign_in(page, admin)
    page.goto("/admin/users")
    page.get_by_label("Username").fill(name)
    page.get_by_label("First password").fill(PASSWORD)
    page.get_by_role("checkbox", name="An admin").check()
    page.get_by_role("button", name="Create user").click()
    expect(_user_row(page, name)).to_contain_text("admin")
    with signed_in_elsewhere(browser, stack, User(name=name, password=PASSWORD, key="")) as theirs:
        expect(_nav(theirs).get_by_role("link", name="Users")).to_be_visible()


def test_disabling_a_user_signs_them_out_and_an_admin_cannot_disable_themselves(
    page: Page, admin, make_user, browser, stack
):
    user = make_user()
    sign_in(page, admin)
    page.goto("/admin/users")
    page.on("dialog", lambda dialog: dialog.accept())
    _user_row(page, admin.name).get_by_role("button", name=f"Disable {admin.name}").click()
    expect(_user_row(page, admin.name).get_by_role("alert")).to_have_text("You cannot disable yourself.")
    look(page, "admin-users-refused")

    with signed_in_elsewhere(browser, stack, user) as theirs:
        page.goto("/admin/users")
        _user_row(page, user.name).get_by_role("button", name=f"Disable {user.name}").click()
        expect(page.get_by_role("status")).to_have_text("Disabled.")
        expect(_user_row(page, user.name)).to_contain_text("disabled")
        assert httpx.get(f"{stack.account_service_url}/api/v1/me", headers=_bearer(user)).status_code == 403
        theirs.goto("/")
        expect(theirs).to_have_url(re.compile(r"/sign-in$"))

        _user_row(page, user.name).get_by_role("button", name=f"Enable {user.name}").click()
        expect(page.get_by_role("status")).to_have_text("Enabled.")
        assert httpx.get(f"{stack.account_service_url}/api/v1/me", headers=_bearer(user)).status_code == 200
        sign_in(theirs, user)


def _bearer(user: User) -> dict[str, str]:
    return {"authorization": f"Bearer {user.key}"}


def test_a_reset_password_ends_the_users_sessions(page: Page, admin, make_user, browser, stack):
    user = make_user()
    sign_in(page, admin)
    with signed_in_elsewhere(browser, stack, user) as theirs:
        page.goto("/admin/users")
        page.get_by_role("link", name=f"Reset the password of {user.name}").click()
        expect(page.get_by_role("heading", name=f"New password for {user.name}")).to_be_visible()
        look(page, "admin-user-password")
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("New password again").fill("something else entirely")
        page.get_by_role("button", name="Set password").click()
        expect(page.get_by_label("New password again")).to_have_attribute("aria-invalid", "true")
        page.get_by_label("New password", exact=True).fill("short")
        page.get_by_label("New password again").fill("short")
        page.get_by_role("button", name="Set password").click()
        expect(page.get_by_label("New password", exact=True)).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_text("A password needs at least 10 characters.")).to_be_visible()
        theirs.goto("/")
        expect(theirs.get_by_role("button", name="Sign out")).to_be_visible()  # nothing changed yet

        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("New password again").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Set password").click()
        expect(page.get_by_role("status")).to_have_text("Saved.")
        theirs.goto("/")
        expect(theirs).to_have_url(re.compile(r"/sign-in$"))
        sign_in(theirs, User(name=user.name, password=NEW_PASSWORD, key=user.key))


def test_admin_rights_are_given_and_taken_but_not_ones_own(page: Page, admin, make_user, browser, stack):
    user = make_user()
    sign_in(page, admin)
    page.goto("/admin/users")
    page.on("dialog", lambda dialog: dialog.accept())
    with signed_in_elsewhere(browser, stack, user) as theirs:
        _user_row(page, user.name).get_by_role("button", name=f"Make admin: {user.name}").click()
        expect(page.get_by_role("status")).to_have_text("Saved.")
        expect(
            _user_row(page, user.name).get_by_role("button", name=f"Remove admin: {user.name}")
        ).to_be_visible()
        theirs.reload()
        expect(_nav(theirs).get_by_role("link", name="Users")).to_be_visible()
        with user.api(stack) as api:
            assert api.get("/users").status_code == 200, "their API keys have admin rights too"

        _user_row(page, user.name).get_by_role("button", name=f"Remove admin: {user.name}").click()
        expect(
            _user_row(page, user.name).get_by_role("button", name=f"Make admin: {user.name}")
        ).to_be_visible()
        theirs.reload()
        expect(_nav(theirs).get_by_role("link", name="Users")).to_have_count(0)
        assert theirs.goto("/admin/users").status == 403

    _user_row(page, admin.name).get_by_role("button", name=f"Remove admin: {admin.name}").click()
    expect(_user_row(page, admin.name).get_by_role("alert")).to_have_text(
        "You cannot remove your own admin rights."
    )
    page.goto("/admin/users")
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()  # still an admin


# -- the pool live ---------------------------------------------------------------------------------


def _serving_account(stack: Stack, user: User, **fields) -> tuple[dict, str]:
    """A custom API account of `user`'s at the OpenAI fake, once the proxy serves it; and its key."""
    upstream_key = f"sk-{uuid.uuid4().hex}"
    body = {"api_base": f"{stack.openai_url}/v1", "api_key": upstream_key, "format": "openai"} | fields
    with user.api(stack) as api:
        created = api.post("/accounts/custom_api", json=body)
    assert created.status_code == 201, created.text
    for _ in range(300):  # the allocation index learns of it through RabbitMQ
        if _call(stack, user).status_code == 200:
            return created.json(), upstream_key
    raise AssertionError("the new account never served")


def _call(stack: Stack, user: User, timeout: float = 10) -> httpx.Response:
    return httpx.post(
        f"{stack.proxy_url}/v1/chat/completions",
        headers=_bearer(user),
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]},
        timeout=timeout,
    )


def _script(stack: Stack, upstream_key: str, **script) -> None:
    with stack.fake("openai") as fake:
        fake.post(f"/_fake/keys/{upstream_key}", json=script).raise_for_status()


def _pool_row(page: Page, account: dict):
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=account["name"], exact=True))


def test_the_pool_shows_calls_in_flight_as_they_come_and_go(page: Page, admin, make_user, stack):
    user = make_user()
    account, upstream_key = _serving_account(
        stack, user, name=f"slow-{uuid.uuid4().hex[:6]}", max_concurrency=3
    )
    _script(stack, upstream_key, delay_ms=8000, times=1)
    call = threading.Thread(target=_call, args=(stack, user, 30))
    call.start()
    try:
        sign_in(page, admin)
        page.get_by_role("link", name="Pool live").click()
        page.get_by_label("Owner").fill(user.name)
        page.get_by_role("button", name="Show").click()
        row = _pool_row(page, account)
        in_flight = row.get_by_role("cell").nth(4)
        expect(in_flight).to_have_text("1 / 3", timeout=5_000)
        expect(row).to_contain_text(user.name)
        look(page, "admin-pool")
        # The page fetches its table again every few seconds: the call's end shows without a reload.
        expect(in_flight).to_have_text("0 / 3", timeout=20_000)
        expect(row.get_by_role("cell").nth(8)).not_to_have_text("0 / 0")
    finally:
        call.join()


def test_a_rate_limited_account_shows_its_cooldown_here_and_on_the_overview(
    page: Page, admin, make_user, browser, stack
):
    user = make_user()
    account, upstream_key = _serving_account(stack, user, name=f"limited-{uuid.uuid4().hex[:6]}")
    _script(stack, upstream_key, status=429, retry_after=120, times=1)
    # A lone account's client waits out the Retry-After in the proxy; this one need not wait for it.
    with contextlib.suppress(httpx.TimeoutException):
        _call(stack, user, timeout=3)
    sign_in(page, admin)
    page.goto(f"/admin/pool?owner={user.name}")
    row = _pool_row(page, account)
    cooling = row.get_by_role("cell").nth(5)
    expect(cooling).to_contain_text("in ", timeout=20_000)  # "… (in 2 minutes)", refreshed by the page
    expect(row.get_by_role("cell").nth(3)).to_contain_text("cooling")
    look(page, "admin-pool-cooling")
    with signed_in_elsewhere(browser, stack, user) as theirs:
        custom = theirs.get_by_role("row", name=re.compile("^Custom APIs"))
        cells = custom.get_by_role("cell")
        expect(cells.nth(0)).to_have_text("1")  # active
        expect(cells.nth(1)).to_have_text("1")  # of which cooling now
        look(theirs, "overview-cooling")


def test_the_pool_filter_says_what_is_wrong(page: Page, admin):
    sign_in(page, admin)
    page.goto("/admin/pool")
    page.get_by_label("Owner").fill("nobody-has-this-name")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_label("Owner")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("No user has this name.")).to_be_visible()
    look(page, "admin-pool-error")


# -- the event stream ------------------------------------------------------------------------------


def _events(page: Page):
    return page.get_by_role("table", name=re.compile("^Events of type"))


def _watches(stack: Stack) -> float:
    """How many pages watch the event stream now (account_service's gauge)."""
    metrics = httpx.get(f"{stack.account_service_url}/metrics").text
    return float(re.search(r"^poolgate_console_event_watches (\S+)$", metrics, re.M).group(1))


def _until(check, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.1)


def test_events_appear_live_and_only_those_of_the_type_asked_for(page: Page, admin, make_user, stack):
    user = make_user()
    secret = f"sk-{uuid.uuid4().hex}"
    watching = _watches(stack)
    sign_in(page, admin)
    page.get_by_role("link", name="Events").click()
    page.get_by_label("Type").fill("account.*")
    page.get_by_role("button", name="Watch").click()
    expect(page.get_by_role("status")).to_have_text("Live: new events appear at the top.")

    with user.api(stack) as api:
        created = api.post(
            "/accounts/custom_api",
            json={"api_base": f"{stack.openai_url}/v1", "api_key": secret, "format": "openai"},
        ).json()
    row = _events(page).get_by_role("row").filter(has_text=created["id"])
    expect(row.get_by_role("rowheader")).to_have_text("account.created")
    expect(row).to_contain_text("account_service")
    look(page, "admin-events")
    assert secret not in page.content() and secret[:12] not in page.content()

    page.get_by_label("Type").fill("user.*")
    page.get_by_role("button", name="Watch").click()
    expect(page.get_by_role("status")).to_have_text("Live: new events appear at the top.")
    with user.api(stack) as api:
        other = api.post(
            "/accounts/custom_api",
            json={"api_base": f"{stack.openai_url}/v1", "api_key": secret, "format": "openai"},
        ).json()
    with admin.api(stack) as api:
        users = {u["username"]: u["id"] for u in api.get("/users").json()}
        api.post(f"/users/{users[user.name]}/disable").raise_for_status()
    # Published after the account's event, through the same outbox: once it shows, the other would have.
    expect(_events(page).get_by_role("row").filter(has_text=users[user.name])).to_have_count(1)
    expect(_events(page).get_by_role("rowheader", name="user.changed")).to_have_count(1)
    expect(_events(page).get_by_role("row").filter(has_text=other["id"])).to_have_count(0)
    expect(_events(page).get_by_role("rowheader", name="account.created")).to_have_count(0)

    _until(lambda: _watches(stack) == watching + 1)  # the page before the filter stopped watching
    page.goto("/")
    _until(lambda: _watches(stack) == watching)  # a page that went away stops watching


def test_an_event_type_that_is_no_pattern_is_refused_next_to_the_field(page: Page, admin):
    sign_in(page, admin)
    page.goto("/admin/events")
    page.get_by_label("Type").fill("account..created")
    page.get_by_role("button", name="Watch").click()
    expect(page.get_by_label("Type")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("A type pattern is words joined by dots")).to_be_visible()
    look(page, "admin-events-error")
    expect(page.get_by_role("table")).to_have_count(0)


# -- jobs ------------------------------------------------------------------------------------------


def _dreamina(stack: Stack, user: User) -> dict:
    with user.api(stack) as api:
        created = api.post(
            "/accounts/dreamina",
            json={
                "email": f"{uuid.uuid4().hex[:8]}@example.com",
                "password": "dreamina-pw",
                "region": "us",
                "sessionid": uuid.uuid4().hex,
            },
        )
    assert created.status_code == 201, created.text
    return created.json()


def test_an_admin_starts_a_dreamina_job_and_follows_it_to_the_end(page: Page, admin, make_user, stack):
    user = make_user()
    account = _dreamina(stack, user)
    sign_in(page, admin)
    page.get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Force refresh all").click()
    expect(page).to_have_url(re.compile(r"/jobs$"))  # asked, said no: nothing started

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Force refresh all").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", name="Force refresh all")).to_be_visible()
    expect(page.get_by_text("finished", exact=True)).to_be_visible(timeout=20_000)
    # Every user's Dreamina accounts, this one among them (on some page of the results).
    assert account["status"] != "disabled"
    expect(page.get_by_role("row").filter(has_text="refresh requested").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"of \d+ accounts: \d+ refresh requested, 0 skipped"))).to_be_visible()
    look(page, "admin-job")

    page.get_by_role("link", name="All jobs").click()
    listed = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Force refresh all"))
    expect(listed.first).to_contain_text(admin.name)
    look(page, "admin-jobs")


def test_a_user_sees_and_starts_their_own_jobs_only(page: Page, admin, make_user, stack):
    user = make_user()
    _dreamina(stack, user)
    with admin.api(stack) as api:
        theirs_not = api.post("/accounts/refresh", json={"scope": "all", "kind": "dreamina"}).json()
    with user.api(stack) as api:
        own = api.post("/accounts/refresh", json={"scope": "unavailable", "kind": "dreamina"})
    assert own.status_code == 202, own.text
    sign_in(page, user)
    page.goto("/jobs")
    expect(page.get_by_role("heading", name="Your jobs")).to_be_visible()
    expect(page.get_by_role("link", name="Refresh unavailable")).to_have_count(1)
    expect(page.get_by_role("link", name="Force refresh all")).to_have_count(0)
    look(page, "jobs-user")
    assert page.goto(f"/jobs/{theirs_not['id']}").status == 404

    page.goto("/jobs")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Refresh all due").click()
    expect(page.get_by_role("heading", name="Refresh all due")).to_be_visible()
    expect(page.get_by_text("finished", exact=True)).to_be_visible(timeout=20_000)
    expect(page.get_by_role("definition").filter(has_text=user.name)).to_be_visible()
