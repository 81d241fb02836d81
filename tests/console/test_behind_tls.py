"""The console behind a TLS proxy on this machine (POOLGATE_FORWARDED_ALLOW_IPS, 127.0.0.1 by
default): account_service as `poolgate up` runs it believes the proxy's X-Forwarded-Proto, so the
browser's https origin passes the CSRF check and the cookies are `Secure`, and its X-Forwarded-For,
so a remote client behind the proxy is not taken for a local one."""

from __future__ import annotations

import re
import uuid

import httpx

from shared.settings import DEV_SERVICE_TOKEN

PROXIED = {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.7", "accept": "text/html"}


def _cookie(response: httpx.Response, name: str) -> tuple[str, str]:
    """The cookie's value and its whole Set-Cookie line."""
    line = next(h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}="))
    return line.split(";", 1)[0].split("=", 1)[1], line.lower()


def test_behind_a_tls_proxy_sign_in_works_and_its_cookies_are_secure(stack, make_user):
    user = make_user()
    origin = "https://" + stack.account_service_url.removeprefix("http://")
    with httpx.Client(base_url=stack.account_service_url, headers=PROXIED) as proxy:
        form = proxy.get("/sign-in")
        pre, pre_line = _cookie(form, "pg_sign_in")
        assert "secure" in pre_line and "httponly" in pre_line
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        answer = proxy.post(
            "/sign-in",
            data={"username": user.name, "password": user.password, "csrf_token": token},
            headers={"origin": origin, "cookie": f"pg_sign_in={pre}"},
        )
        assert answer.status_code == 303, answer.text
        session, line = _cookie(answer, "pg_session")
        assert "secure" in line and "httponly" in line and "samesite=lax" in line
        page = proxy.get("/keys", headers={"cookie": f"pg_session={session}"})
        assert page.status_code == 200 and "console-tests" in page.text


def test_a_client_behind_the_proxy_is_not_local_to_the_internal_api(stack):
    path = f"/internal/v1/accounts/{uuid.uuid4()}/credentials"
    token = {"authorization": f"Bearer {DEV_SERVICE_TOKEN}"}
    with httpx.Client(base_url=stack.account_service_url, headers=token) as local:
        assert local.get(path).status_code == 404  # this machine: let in, and the account is unknown
        proxied = local.get(path, headers={"x-forwarded-for": "203.0.113.7"})
        assert proxied.status_code == 403 and proxied.json()["error"]["code"] == "internal_api_loopback_only"
