"""`/api/v1/webhooks`: the secret shown once and stored encrypted, owner isolation, admin-only
operator-wide webhooks, validation errors naming the field, and the SSRF rule for webhook URLs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from services.account_service.webhooks.schemas import ALERT_TYPES
from tests.integration.account_service._api import Api
from tests.integration.account_service.conftest import serving_api
from tests.support.infra import Infra

URL = "http://127.0.0.1:9/hook"


def create(api: Api, key: str, **fields) -> dict:
    response = api.call("POST", "/webhooks", key, json={"url": URL, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_the_secret_is_shown_once_and_stored_encrypted(api: Api):
    user, key = api.new_user()
    created = create(api, key)
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert created["alert_types"] == list(ALERT_TYPES) and created["enabled"]
    assert created["user_id"] == user["id"] and not created["operator_wide"]

    listed = api.call("GET", "/webhooks", key).json()
    assert [w["id"] for w in listed] == [created["id"]]
    one = api.call("GET", f"/webhooks/{created['id']}", key)
    assert one.status_code == 200
    for answer in (listed[0], one.json()):
        assert "secret" not in answer and secret not in str(answer)
    stored = api.fetchval("SELECT secret FROM webhooks WHERE id = $1", uuid.UUID(created["id"]))
    assert secret not in stored and api.client.app.state.box.decrypt(stored) == secret


def test_another_users_webhook_is_404_everywhere(api: Api):
    _, owner_key = api.new_user()
    _, other_key = api.new_user()
    hook = create(api, owner_key)
    for method, path, body in [
        ("GET", f"/webhooks/{hook['id']}", None),
        ("PATCH", f"/webhooks/{hook['id']}", {"enabled": False}),
        ("DELETE", f"/webhooks/{hook['id']}", None),
        ("POST", f"/webhooks/{hook['id']}/test", None),
        ("GET", f"/webhooks/{hook['id']}/deliveries", None),
    ]:
        response = api.call(method, path, other_key, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["param"] == "webhook_id"
    assert api.call("GET", "/webhooks", other_key).json() == []
    assert api.call("GET", f"/webhooks/{hook['id']}", owner_key).json()["enabled"]
    assert api.fetchval("SELECT count(*) FROM webhook_deliveries") == 0
    # Admins see and manage every user's.
    assert api.call("GET", f"/webhooks/{hook['id']}", api.admin_key).status_code == 200


def test_enable_disable_change_and_delete(api: Api):
    _, key = api.new_user()
    hook = create(api, key)
    changed = api.call(
        "PATCH",
        f"/webhooks/{hook['id']}",
        key,
        json={"enabled": False, "alert_types": ["pool.unavailable"], "url": "https://example.com/x"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["enabled"] is False
    assert changed.json()["alert_types"] == ["pool.unavailable"]
    assert changed.json()["url"] == "https://example.com/x"
    assert api.call("PATCH", f"/webhooks/{hook['id']}", key, json={"enabled": True}).json()["enabled"]
    assert api.call("DELETE", f"/webhooks/{hook['id']}", key).status_code == 204
    assert api.call("GET", f"/webhooks/{hook['id']}", key).status_code == 404


def test_operator_wide_webhooks_are_for_admins(api: Api):
    _, key = api.new_user()
    refused = api.call("POST", "/webhooks", key, json={"url": URL, "operator_wide": True})
    assert refused.status_code == 403
    assert refused.json()["error"]["param"] == "operator_wide"
    assert create(api, api.admin_key, operator_wide=True)["operator_wide"] is True


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "url"),
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "http://example.com:99999/x"}, "url"),
        ({"url": "https://example.com/" + "x" * 2000}, "url"),
        ({"url": URL, "alert_types": []}, "alert_types"),
        ({"url": URL, "alert_types": ["account.deleted"]}, "alert_types.0"),
        ({"url": URL, "enabled": "perhaps"}, "enabled"),
        ({"url": URL, "secret": "mine"}, "secret"),
    ],
)
def test_bad_input_is_422_naming_the_field(api: Api, body: dict, param: str):
    _, key = api.new_user()
    response = api.call("POST", "/webhooks", key, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["param"] == param


def test_a_bad_change_is_422_naming_the_field(api: Api):
    _, key = api.new_user()
    hook = create(api, key)
    response = api.call("PATCH", f"/webhooks/{hook['id']}", key, json={"url": "gopher://x"})
    assert response.status_code == 422 and response.json()["error"]["param"] == "url"


@pytest.fixture(scope="module")
def guarded_api(infra: Infra) -> Iterator[Api]:
    with serving_api(infra, "guarded", POOLGATE_ALLOW_PRIVATE_UPSTREAMS="false") as served:
        yield served


@pytest.mark.parametrize("url", ["http://127.0.0.1:8001/x", "http://169.254.169.254/latest", "http://[::1]/"])
def test_internal_addresses_are_refused_unless_private_upstreams_are_allowed(guarded_api: Api, url: str):
    response = guarded_api.call("POST", "/webhooks", guarded_api.admin_key, json={"url": url})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["param"] == "url"
    assert response.json()["error"]["code"] == "webhook_address_refused"
