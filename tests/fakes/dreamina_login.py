"""Fake Dreamina login page, for the worker's browser login driven in real Chromium (reference §3.1).

Run: python -m tests.fakes.dreamina_login --port 0   (prints "LISTENING <port>")

`GET /ai-tool/home` is a small single-page app that follows the real flow: a "Create" menu item (or,
in the `sign_in` layout, a "Sign in" button) opens the sign-in modal; "Continue with email"
(`span.lv_new_third_part_sign_in_expand-label`) shows the e-mail and password inputs
(`placeholder="Enter email"` / `"Enter password"`) and a "Continue" button, which posts them to
`POST /passport/web/email/login`. Each account answers as configured:

  ok         sets the `sessionid` cookie (plus `sessionid_ss`, `sid_tt`) with an `Expires`
  captcha    shows a captcha container (`#captcha_container`) instead
  no_cookie  answers success but sets no cookie
  (unknown e-mail or wrong password) the page shows `Incorrect email or password` in `.lv-message`

Control:
  PUT  /_fake/dreamina/accounts/{email}  {"password", "sessionid", "expires_in_s", "outcome"}
  PUT  /_fake/dreamina/page              {"layout": "create" | "sign_in", "missing": null | element,
                                          "hang_s": seconds before the page answers}
       elements that can be missing: "entry", "continue_with_email", "email_input", "password_input",
       "continue_button"
  GET  /_fake/dreamina/logins            every page load and login post, in order
  POST /_fake/reset
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from aiohttp import web

from tests.fakes._control import FakeState, json_response, main, new_app

OUTCOMES = frozenset({"ok", "captcha", "no_cookie"})
ELEMENTS = frozenset({"entry", "continue_with_email", "email_input", "password_input", "continue_button"})


@dataclass
class LoginPageState:
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    page: dict[str, Any] = field(default_factory=lambda: {"layout": "create", "missing": None, "hang_s": 0})
    log: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        self.accounts.clear()
        self.page = {"layout": "create", "missing": None, "hang_s": 0}
        self.log.clear()


PAGE = web.AppKey("dreamina_login", LoginPageState)


class _State(FakeState):
    def __init__(self, page: LoginPageState) -> None:
        super().__init__()
        self.page = page

    def reset(self) -> None:
        super().reset()
        self.page.reset()


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dreamina</title>
<style>.hidden{display:none}</style></head>
<body>
<nav class="lv-menu">__ENTRY__</nav>
<main id="app"></main>
<script>
const missing = __MISSING__;
const app = document.getElementById("app");
function el(html) {
  const d = document.createElement("div"); d.innerHTML = html; app.appendChild(d); return d;
}
function message(text) {
  el('<div class="lv-message lv-message-error" role="alert">' + text + '</div>');
}
function openModal() {
  if (document.getElementById("signin")) return;
  const modal = el('<div id="signin" class="lv-modal"></div>');
  if (missing !== "continue_with_email") {
    modal.innerHTML = '<button class="lv_new_third_part_sign_in_expand"><span '
      + 'class="lv_new_third_part_sign_in_expand-label">Continue with email</span></button>';
    modal.querySelector("button").addEventListener("click", showForm);
  }
}
function showForm() {
  const form = el('<form id="email-form" onsubmit="return false"></form>');
  if (missing !== "email_input") form.innerHTML += '<input type="email" placeholder="Enter email">';
  if (missing !== "password_input") form.innerHTML += '<input type="password" placeholder="Enter password">';
  if (missing !== "continue_button") form.innerHTML += '<button type="button" id="go">Continue</button>';
  const go = form.querySelector("#go");
  if (go) go.addEventListener("click", submit);
}
async function submit() {
  const email = document.querySelector("input[type=email]").value;
  const password = document.querySelector("input[type=password]").value;
  const answer = await fetch("/passport/web/email/login", {
    method: "POST", headers: {"content-type": "application/json"},
    body: JSON.stringify({email, password}),
  });
  const body = await answer.json();
  if (body.error) { message(body.error); return; }
  if (body.verify) {
    el('<div id="captcha_container" class="captcha_verify_container">Drag the slider to verify</div>');
    return;
  }
  el('<p id="welcome">Welcome back</p>');
}
for (const entry of document.querySelectorAll(".entry")) entry.addEventListener("click", openModal);
</script>
</body></html>
"""
_ENTRIES = {
    "create": '<div role="menuitem" class="lv-menu-item entry" id="AIGeneratedRecord">Create</div>',
    "sign_in": '<button class="login-button entry" id="SiderMenuLogin">Sign in</button>',
}


async def _home(request: web.Request) -> web.Response:
    state = request.app[PAGE]
    page = dict(state.page)
    state.log.append({"at": time.time(), "event": "page", "page": page})
    if page["hang_s"]:
        await asyncio.sleep(page["hang_s"])
    entry = "" if page["missing"] == "entry" else _ENTRIES[page["layout"]]
    missing = f'"{page["missing"]}"' if page["missing"] else "null"
    html = _HTML.replace("__ENTRY__", entry).replace("__MISSING__", missing)
    return web.Response(text=html, content_type="text/html")


async def _login(request: web.Request) -> web.Response:
    state = request.app[PAGE]
    body = await request.json()
    email, password = body.get("email", ""), body.get("password", "")
    account = state.accounts.get(email)
    outcome = account["outcome"] if account and account["password"] == password else "wrong_password"
    state.log.append({"at": time.time(), "event": "login", "email": email, "outcome": outcome})
    if outcome == "wrong_password":
        return json_response({"error": "Incorrect email or password"})
    if outcome == "captcha":
        return json_response({"verify": "captcha"})
    response = json_response({"data": {"user_id": 7_000_001}})
    if outcome == "ok":
        expires = formatdate(time.time() + account["expires_in_s"], usegmt=True)
        for name in ("sessionid", "sessionid_ss", "sid_tt"):
            response.headers.add(
                "Set-Cookie", f"{name}={account['sessionid']}; Expires={expires}; Path=/; HttpOnly"
            )
    return response


async def _put_account(request: web.Request) -> web.Response:
    body = await request.json()
    outcome = body.get("outcome", "ok")
    if outcome not in OUTCOMES or not isinstance(body.get("password"), str):
        return json_response({"error": f"outcome must be one of {sorted(OUTCOMES)}; password a string"}, 400)
    email = request.match_info["email"]
    request.app[PAGE].accounts[email] = {
        "password": body["password"],
        "sessionid": body.get("sessionid", ""),
        "expires_in_s": body.get("expires_in_s", 60 * 24 * 3600),
        "outcome": outcome,
    }
    return json_response({"email": email, "outcome": outcome})


async def _put_page(request: web.Request) -> web.Response:
    body = await request.json()
    page = {"layout": "create", "missing": None, "hang_s": 0, **body}
    if page["layout"] not in _ENTRIES or (page["missing"] and page["missing"] not in ELEMENTS):
        return json_response({"error": f"layout: {sorted(_ENTRIES)}; missing: {sorted(ELEMENTS)}"}, 400)
    request.app[PAGE].page = page
    return json_response(page)


async def _get_log(request: web.Request) -> web.Response:
    return json_response(request.app[PAGE].log)


def create_app() -> web.Application:
    page = LoginPageState()
    app = new_app(_State(page))
    app[PAGE] = page
    app.router.add_get("/ai-tool/home", _home)
    app.router.add_post("/passport/web/email/login", _login)
    app.router.add_put("/_fake/dreamina/accounts/{email}", _put_account)
    app.router.add_put("/_fake/dreamina/page", _put_page)
    app.router.add_get("/_fake/dreamina/logins", _get_log)
    return app


if __name__ == "__main__":
    main(create_app)
