"""Input PostgreSQL cannot take (NUL, lone surrogates, a page past bigint) is a 422 naming the field,
and every failure, the framework's own included, answers the project's error JSON."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from services.account_service.app import create_app
from services.account_service.settings import AccountServiceSettings
from shared.settings import DEV_SERVICE_TOKEN
from tests.integration.account_service._api import Api

NUL = "a\u0000b"
SURROGATE_JSON = '"a\\ud800b"'  # a lone surrogate, escaped as JSON allows


def _json_error(response) -> dict:
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return body["error"]


def _post_raw(api: Api, path: str, raw: bytes | str):
    headers = {**api.auth(api.admin_key), "content-type": "application/json"}
    return api.client.post(f"/api/v1{path}", content=raw, headers=headers)


def _refused(response, param: str) -> None:
    assert response.status_code == 422, response.text
    assert _json_error(response)["param"] == param


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("POST", "/keys", {"name": NUL}, "name"),
        ("POST", "/users", {"username": NUL}, "username"),
        ("POST", "/accounts/kiro", {"refresh_token": NUL}, "refresh_token"),
        ("POST", "/accounts/kiro/import", {"text": f"aor{NUL}"}, "text"),
        ("POST", "/accounts/dreamina/import", {"text": f"x@y.z:{NUL}:us"}, "text"),
        ("POST", "/accounts/dreamina", {"email": "a@b.c", "password": NUL, "region": "us"}, "password"),
        (
            "POST",
            "/accounts/custom_api",
            {"api_base": "https://8.8.8.8/v1", "api_key": "sk-1", "format": "openai", "models": ["m", NUL]},
            "models.1",
        ),
    ],
)
def test_a_nul_in_any_json_string_is_a_422_naming_the_field(api: Api, method, path, body, param):
    _refused(api.call(method, path, api.admin_key, json=body), param)


def test_a_lone_surrogate_in_a_json_string_is_a_422_naming_the_field(api: Api):
    _refused(_post_raw(api, "/keys", '{"name": ' + SURROGATE_JSON + "}"), "name")
    _refused(_post_raw(api, "/users", '{"username": ' + SURROGATE_JSON + "}"), "username")


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/accounts?owner=%00", "query.owner"),
        ("/keys?user=a%00", "query.user"),
        ("/accounts?region=%00", "query.region"),
        ("/accounts/dreamina/export?owner=%00", "query.owner"),
    ],
)
def test_a_nul_in_a_query_parameter_is_a_422_naming_it(api: Api, path, param):
    _refused(api.client.get(f"/api/v1{path}", headers=api.auth(api.admin_key)), param)


@pytest.mark.parametrize("page", ["9223372036854775807", "1000001", "99999999999999999999999"])
def test_a_page_past_the_cap_is_a_422(api: Api, page):
    _refused(api.call("GET", f"/accounts?page={page}", api.admin_key), "query.page")


def test_the_last_allowed_page_is_an_empty_page(api: Api):
    page = api.call("GET", "/accounts?page=1000000&per_page=200", api.admin_key)
    assert page.status_code == 200 and page.json()["items"] == []


def test_a_body_that_is_not_json_is_a_422_naming_the_body(api: Api):
    for raw in (b"{not json", b"\xff\xfe", b'{"name": "\xff"}'):  # the last: not UTF-8
        response = _post_raw(api, "/keys", raw)
        assert response.status_code == 422, response.text
        _json_error(response)


def test_the_internal_api_refuses_unstorable_text_too(api: Api):
    response = api.client.post(
        f"/internal/v1/accounts/{uuid.uuid4()}/status",
        headers={"authorization": f"Bearer {DEV_SERVICE_TOKEN}"},
        json={"status": "invalid", "reason": NUL},
    )
    _refused(response, "reason")


def test_unknown_routes_and_methods_answer_the_error_json(api: Api):
    missing = api.client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert _json_error(missing)["kind"] == "not_found"
    wrong = api.client.delete("/api/v1/me", headers=api.auth(api.admin_key))
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]
    assert _json_error(wrong)["code"] == "method_not_allowed"
    hot = api.client.get("/internal/v1/allocations")  # a hot route's other method
    assert hot.status_code == 405
    _json_error(hot)


def test_an_unexpected_error_is_a_json_500_without_details(infra):
    settings = AccountServiceSettings(
        **{k.removeprefix("POOLGATE_").lower(): v for k, v in infra.env().items()}
    )
    app = create_app(settings)

    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret detail")

    response = TestClient(app, raise_server_exceptions=False).get("/api/v1/boom")  # no lifespan
    assert response.status_code == 500
    error = _json_error(response)
    assert error["kind"] == "internal" and "secret detail" not in response.text
