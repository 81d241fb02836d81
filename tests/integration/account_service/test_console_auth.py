"""The console's sign-in and sessions at the service level (HTTP against the app, its clock driven by
the test): idle expiry, the lock-out's doubling and cap, a disabled user's session, CSRF refusals,
the cookies' attributes, HTML errors for pages and JSON for the API, and `poolgate users
set-password`. tests/console drives the same flows in a browser."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from services.account_service.webhooks.schemas import ALERT_TYPES
from tests.integration.account_service._api import Api
from tests.integration.account_service.conftest import serving_api
from tests.integration.account_service.test_calls_today import Clock
from tests.support.infra import Infra
from tests.support.processes import run_cli

PASSWORD = "a console password"
IDLE_H = 12
LOCKOUT_S = 30_000  # doubled: 60 000, then capped at a day (86 400)
DAY_S = 86_400


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(datetime.now(UTC))


@pytest.fixture(scope="module")
def api(infra: Infra, clock: Clock) -> Iterator[Api]:
    with serving_api(
        infra,
        "console",
        clock=clock,
        POOLGATE_CONSOLE_SESSION_IDLE_H=str(IDLE_H),
        POOLGATE_SIGN_IN_MAX_FAILURES="2",
        POOLGATE_SIGN_IN_LOCKOUT_S=str(LOCKOUT_S),
    ) as served:
        yield served


def _later(clock: Clock, **delta: float) -> None:
    clock.now += timedelta(**delta)


def _browser(api: Api, *, https: bool = False) -> TestClient:
    """A client with a cookie jar of its own (a browser), on the running app's event loop, where
    its pools live; it does not follow redirects, so the tests see them."""
    scheme = "https" if https else "http"
    client = TestClient(
        api.client.app, base_url=f"{scheme}://testserver", client=("127.0.0.1", 50000), follow_redirects=False
    )
    client.portal = api.client.portal
    client.headers["accept"] = "text/html"
    return client


def _user(api: Api, *, password: str | None = PASSWORD) -> dict:
    user, _ = api.new_user()
    if password is not None:
        _cli(api, "users", "set-password", user["username"], input=password + "\n")
    return user


def _cli(api: Api, *args: str, input: str | None = None) -> str:
    return run_cli(*args, env=api.infra.env(POOLGATE_DATABASE_URL=api.database_url), input=input)


def _form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def _try_sign_in(browser: TestClient, username: str, password: str):
    form = browser.get("/sign-in")
    assert form.status_code == 200
    token = _form_token(form.text)
    return browser.post(
        "/sign-in", data={"username": username, "password": password, "csrf_token": token, "next": "/keys"}
    )


def _signed_in(api: Api, user: dict, *, https: bool = False) -> TestClient:
    browser = _browser(api, https=https)
    answer = _try_sign_in(browser, user["username"], PASSWORD)
    assert answer.status_code == 303 and answer.headers["location"] == "/keys", answer.text
    return browser


def _is_signed_in(browser: TestClient) -> bool:
    page = browser.get("/keys")
    if page.status_code == 303:
        assert page.headers["location"] == "/sign-in?next=%2Fkeys"
        return False
    assert page.status_code == 200, page.text
    return True


def _set_cookie(response, name: str) -> str:
    return next(h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}="))


# Sessions


def test_a_session_ends_after_its_idle_hours_and_each_page_view_moves_the_end(api: Api, clock: Clock):
    browser = _signed_in(api, _user(api))
    _later(clock, hours=IDLE_H - 1)
    assert _is_signed_in(browser)
    _later(clock, hours=IDLE_H - 1)  # 22 hours after signing in, 11 after the last page
    assert _is_signed_in(browser)
    _later(clock, hours=IDLE_H, seconds=1)
    assert not _is_signed_in(browser)


def test_a_disabled_users_session_ends_at_once_and_does_not_come_back(api: Api):
    user = _user(api)
    browser = _signed_in(api, user)
    disabled = api.call("POST", f"/users/{user['id']}/disable", api.admin_key)
    assert disabled.status_code == 200
    assert not _is_signed_in(browser)
    refused = _try_sign_in(_browser(api), user["username"], PASSWORD)
    assert refused.status_code == 401 and "Wrong username or password." in refused.text
    assert api.call("POST", f"/users/{user['id']}/enable", api.admin_key).status_code == 200
    assert not _is_signed_in(browser)  # enabling again does not bring the old session back
    assert _is_signed_in(_signed_in(api, user))


def test_signing_out_ends_the_session_on_the_server(api: Api):
    browser = _signed_in(api, _user(api))
    cookie = browser.cookies["pg_session"]
    token = _form_token(browser.get("/keys").text)
    answer = browser.post("/sign-out", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/sign-in"
    replay = _browser(api)
    replay.cookies.set("pg_session", cookie)
    assert not _is_signed_in(replay)


# The lock-out


def _wrong(browser: TestClient, user: dict):
    return _try_sign_in(browser, user["username"], "not the password")


def test_the_lock_out_doubles_with_each_failure_and_stops_at_a_day(api: Api, clock: Clock):
    user, browser = _user(api), _browser(api)
    first = _wrong(browser, user)
    assert first.status_code == 401 and "retry-after" not in first.headers
    locked = [_wrong(browser, user)]
    assert locked[0].status_code == 429 and "Too many failed sign-ins" in locked[0].text
    # While locked, even the right password is refused, and does not count as a failure.
    right = _try_sign_in(browser, user["username"], PASSWORD)
    assert right.status_code == 429 and int(right.headers["retry-after"]) <= LOCKOUT_S
    for _ in range(3):
        _later(clock, seconds=int(locked[-1].headers["retry-after"]) + 1)
        locked.append(_wrong(browser, user))
    assert [int(r.headers["retry-after"]) for r in locked] == [LOCKOUT_S, 2 * LOCKOUT_S, DAY_S, DAY_S]
    assert all(r.status_code == 429 for r in locked)


def test_signing_in_after_the_lock_out_starts_the_count_again(api: Api, clock: Clock):
    user, browser = _user(api), _browser(api)
    _wrong(browser, user)
    locked = _wrong(browser, user)
    _later(clock, seconds=int(locked.headers["retry-after"]) + 1)
    assert _try_sign_in(browser, user["username"], PASSWORD).status_code == 303
    assert _wrong(_browser(api), user).status_code == 401  # one failure again, not a lock-out


# CSRF


@pytest.mark.parametrize(
    ("headers", "with_token"),
    [
        ({}, False),
        ({"origin": "https://evil.example"}, True),
        ({"origin": "null"}, True),
        ({"sec-fetch-site": "cross-site"}, True),
    ],
    ids=["no token", "foreign origin", "null origin", "cross-site fetch"],
)
def test_a_form_from_elsewhere_is_refused_and_changes_nothing(api: Api, headers, with_token):
    user = _user(api)
    browser = _signed_in(api, user)
    token = _form_token(browser.get("/keys").text)
    data = {"name": "forged"} | ({"csrf_token": token} if with_token else {})
    refused = browser.post("/keys", data=data, headers=headers)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("text/html")
    assert "pg-" not in refused.text
    assert "forged" not in browser.get("/keys").text


def test_a_form_with_the_token_from_this_console_is_accepted(api: Api):
    browser = _signed_in(api, _user(api))
    token = _form_token(browser.get("/keys").text)
    same_origin = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
    by_field = browser.post("/keys", data={"name": "by-field", "csrf_token": token}, headers=same_origin)
    assert by_field.status_code == 201
    # htmx sends the token as a header instead of a form field.
    htmx = {"x-csrf-token": token, "hx-request": "true"}
    assert browser.post("/keys", data={"name": "by-header"}, headers=htmx).status_code == 201
    listed = browser.get("/keys").text
    assert "<td>by-field</td>" in listed and "<td>by-header</td>" in listed


def test_the_webhook_form_offers_every_alert_named_in_the_pages_language(api: Api):
    browser = _signed_in(api, _user(api))
    page = browser.get("/webhooks")
    assert page.status_code == 200, page.text
    offered = re.findall(r'name="alert_types" type="checkbox" value="([^"]+)"', page.text)
    assert offered == list(ALERT_TYPES)
    assert "An egress proxy became unhealthy" in page.text and "An account's probe failed" in page.text
    chinese = browser.get("/webhooks", headers={"accept-language": "zh-CN"}).text
    assert "出口代理变为异常" in chinese and "账号探测失败" in chinese


def test_a_sign_in_form_needs_its_own_cookie_and_origin(api: Api):
    user = _user(api)
    browser = _browser(api)
    token = _form_token(browser.get("/sign-in").text)
    data = {"username": user["username"], "password": PASSWORD, "csrf_token": token}
    assert browser.post("/sign-in", data=data, headers={"origin": "https://evil.example"}).status_code == 403
    assert _browser(api).post("/sign-in", data=data).status_code == 403  # the form's cookie is missing
    assert "pg_session" not in browser.cookies


# Cookies


def test_the_cookies_are_httponly_and_samesite_but_not_secure_over_http(api: Api):
    user = _user(api)
    browser = _browser(api)
    form = browser.get("/sign-in")
    pre = _set_cookie(form, "pg_sign_in").lower()
    assert "httponly" in pre and "samesite=strict" in pre and "path=/sign-in" in pre and "secure" not in pre
    data = {"username": user["username"], "password": PASSWORD, "csrf_token": _form_token(form.text)}
    answer = browser.post("/sign-in", data=data)
    session = _set_cookie(answer, "pg_session").lower()
    assert "httponly" in session and "samesite=lax" in session and "path=/" in session
    assert "secure" not in session


def test_over_https_every_cookie_is_secure(api: Api):
    user = _user(api)
    browser = _signed_in(api, user, https=True)  # the jar sends Secure cookies over https only
    assert _is_signed_in(browser)
    form = _browser(api, https=True).get("/sign-in")
    assert "secure" in _set_cookie(form, "pg_sign_in").lower()
    answer = _try_sign_in(_browser(api, https=True), user["username"], PASSWORD)
    assert "secure" in _set_cookie(answer, "pg_session").lower()
    language = browser.get("/language/zh")
    assert "secure" in _set_cookie(language, "pg_lang").lower()


# Errors


def test_api_errors_stay_json_when_a_browser_asks(api: Api):
    browser = _browser(api)
    for path in ("/api/v1/keys", "/api/v1/no-such-thing", "/internal/v1/no-such-thing", "/healthz-nope"):
        answer = browser.get(path)
        assert answer.headers["content-type"].startswith("application/json"), (path, answer.text)
        assert "error" in answer.json()
    wrong_key = browser.get("/api/v1/me", headers={"authorization": "Bearer pg-wrong"})
    assert wrong_key.status_code == 401 and wrong_key.json()["error"]["code"] == "invalid_api_key"


def test_console_pages_answer_errors_as_pages(api: Api):
    browser = _signed_in(api, _user(api))
    token = _form_token(browser.get("/keys").text)
    missing = browser.post(f"/keys/{uuid.uuid4()}/disable", data={"csrf_token": token})
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "Not found" in missing.text and "no such API key" in missing.text
    not_a_page = browser.get("/no-such-page")
    assert not_a_page.status_code == 404 and "<h1>Not found</h1>" in not_a_page.text
    admins_only = browser.get(f"/keys?user={uuid.uuid4().hex[:8]}")
    assert admins_only.status_code == 403 and "Not allowed" in admins_only.text
    bad_id = browser.post("/keys/not-a-uuid/disable", data={"csrf_token": token})
    assert bad_id.status_code == 422 and bad_id.headers["content-type"].startswith("text/html")


def test_text_postgresql_cannot_store_is_a_422_not_a_500(api: Api):
    browser = _signed_in(api, _user(api))
    token = _form_token(browser.get("/keys").text)
    created = browser.post("/keys", data={"name": "bad\x00name", "csrf_token": token})
    assert created.status_code == 422 and created.headers["content-type"].startswith("text/html")
    sign_in = _try_sign_in(_browser(api), "bad\x00name", PASSWORD)
    assert sign_in.status_code == 422


# poolgate users set-password


def test_set_password_reads_stdin_and_ends_the_users_sessions(api: Api):
    user = _user(api)
    browser = _signed_in(api, user)
    said = _cli(api, "users", "set-password", user["username"], input="another password\n")
    assert said == f"password set for {user['username']}"
    assert not _is_signed_in(browser)
    assert _try_sign_in(_browser(api), user["username"], PASSWORD).status_code == 401
    assert _try_sign_in(_browser(api), user["username"], "another password").status_code == 303


def test_set_password_refuses_a_short_one_and_keeps_the_old(api: Api):
    user = _user(api)
    with pytest.raises(RuntimeError, match="at least 10 characters"):
        _cli(api, "users", "set-password", user["username"], input="short\n")
    assert _try_sign_in(_browser(api), user["username"], PASSWORD).status_code == 303


def test_set_password_generate_prints_a_password_that_signs_in(api: Api):
    user = _user(api, password=None)
    generated = _cli(api, "users", "set-password", user["username"], "--generate")
    assert len(generated) >= 20 and "\n" not in generated
    assert _try_sign_in(_browser(api), user["username"], generated).status_code == 303


def test_set_password_if_unset_leaves_a_set_password_alone(api: Api):
    user = _user(api)
    assert _cli(api, "users", "set-password", user["username"], "--generate", "--if-unset") == ""
    assert _try_sign_in(_browser(api), user["username"], PASSWORD).status_code == 303
    fresh = _user(api, password=None)
    generated = _cli(api, "users", "set-password", fresh["username"], "--generate", "--if-unset")
    assert _try_sign_in(_browser(api), fresh["username"], generated).status_code == 303


def test_set_password_for_an_unknown_user_fails(api: Api):
    with pytest.raises(RuntimeError, match="no user named"):
        _cli(api, "users", "set-password", "nobody-by-this-name", input=PASSWORD + "\n")
