"""Signing in and out, wrong passwords and the lock-out, CSRF refusals, changing one's password and the
language switch, in a real browser."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page

from tests.console.conftest import PASSWORD, expect, look, sign_in


def test_sign_in_and_out(page: Page, make_user):
    user = make_user()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    look(page, "sign-in")
    sign_in(page, user)
    expect(page.get_by_role("heading", name="Your pool")).to_be_visible()
    look(page, "overview")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to PoolGate")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in$"))  # the session is gone, not just the cookie


def test_a_page_asked_for_before_signing_in_is_where_sign_in_leads(page: Page, make_user):
    user = make_user()
    page.goto("/account/password")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Faccount%2Fpassword$"))
    page.get_by_label("Username").fill(user.name)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()


def test_sign_in_never_leads_to_another_site(page: Page, make_user):
    user = make_user()
    page.goto("/sign-in?next=//evil.example/")
    page.get_by_label("Username").fill(user.name)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your pool")).to_be_visible()
    assert "evil" not in page.url


def test_a_wrong_password_says_so_and_locks_out_after_five(page: Page, make_user):
    user = make_user()
    page.goto("/sign-in")
    for _ in range(4):
        page.get_by_label("Username").fill(user.name)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    look(page, "sign-in-wrong-password")
    page.get_by_label("Username").fill(user.name)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    # Locked: even the right password is refused until the lock-out ends.
    page.get_by_label("Username").fill(user.name)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(page: Page):
    page.goto("/sign-in")
    page.get_by_label("Username").fill("nobody-by-this-name")
    page.get_by_label("Password").fill("whatever it is")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")


def test_a_form_without_the_sessions_csrf_token_is_refused(page: Page, make_user, stack):
    user = make_user()
    sign_in(page, user)
    # The session cookie alone, as a forged cross-site form would send it: refused, and still signed in.
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    forged = httpx.post(
        f"{stack.account_service_url}/sign-out",
        cookies={"pg_session": cookies["pg_session"]},
        data={"csrf_token": "guessed"},
        headers={"accept": "text/html"},
    )
    assert forged.status_code == 403
    assert "did not come from this console" in forged.text
    cross_site = httpx.post(
        f"{stack.account_service_url}/sign-out",
        cookies={"pg_session": cookies["pg_session"]},
        headers={"origin": "https://evil.example", "accept": "text/html"},
    )
    assert cross_site.status_code == 403
    page.goto("/")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_a_sign_in_form_from_elsewhere_is_refused(stack, make_user):
    user = make_user()
    answer = httpx.post(
        f"{stack.account_service_url}/sign-in",
        data={"username": user.name, "password": user.password, "csrf_token": "x"},
        cookies={"pg_sign_in": "y"},
        headers={"accept": "text/html"},
    )
    assert answer.status_code == 403
    assert "pg_session" not in answer.cookies


def test_changing_the_password_signs_out_other_browsers(page: Page, browser, make_user, stack):
    user = make_user()
    other = browser.new_context(base_url=stack.account_service_url)
    try:
        other_page = other.new_page()
        sign_in(other_page, user)
        sign_in(page, user)
        page.goto("/account/password")
        look(page, "password")
        page.get_by_label("Current password").fill("wrong wrong wrong")
        page.get_by_label("New password", exact=True).fill("a new password 1")
        page.get_by_label("New password again").fill("a new password 1")
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_text("This is not your current password.")).to_be_visible()
        expect(page.get_by_label("Current password")).to_have_attribute("aria-invalid", "true")
        page.get_by_label("Current password").fill(PASSWORD)
        page.get_by_label("New password", exact=True).fill("short")
        page.get_by_label("New password again").fill("short")
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_text("A password needs at least 10 characters.")).to_be_visible()
        page.get_by_label("Current password").fill(PASSWORD)
        page.get_by_label("New password", exact=True).fill("a new password 1")
        page.get_by_label("New password again").fill("a new password 1")
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_role("status")).to_contain_text("Your password was changed")
        other_page.goto("/")
        expect(other_page).to_have_url(re.compile(r"/sign-in$"))
        page.goto("/")
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    finally:
        other.close()


def test_the_language_follows_the_browser_and_the_switch(browser, stack, make_user):
    user = make_user()
    ctx = browser.new_context(base_url=stack.account_service_url, locale="zh-CN")
    try:
        page = ctx.new_page()
        page.goto("/sign-in")
        expect(page.get_by_role("heading", name="登录 PoolGate")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
        page.get_by_label("用户名").fill(user.name)
        page.get_by_label("密码").fill(user.password)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name="你的账号池")).to_be_visible()
        look(page, "overview-zh")
        page.get_by_role("link", name="English").click()
        expect(page.get_by_role("heading", name="Your pool")).to_be_visible()
        page.goto("/")
        expect(page.get_by_role("heading", name="Your pool")).to_be_visible()  # the choice is kept
    finally:
        ctx.close()
