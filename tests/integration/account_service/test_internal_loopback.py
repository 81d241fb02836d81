"""With the published development service token, the internal API (it returns decrypted credentials)
answers loopback clients only; a real token serves it to every host (the proxy and the worker in
their own pods)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.account_service.app import create_app
from services.account_service.deps import is_loopback
from services.account_service.settings import AccountServiceSettings
from shared.settings import DEV_SERVICE_TOKEN
from tests.integration.account_service._api import Api

SERVICE = {"authorization": f"Bearer {DEV_SERVICE_TOKEN}"}


def _request(api: Api, client: tuple[str, int], method: str, path: str, **kwargs) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=api.client.app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://account-service") as http:
            return await http.request(method, path, **kwargs)

    return api.client.portal.call(call)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/internal/v1/allocations", {"api_key": "pg-x"}),  # a hot route, answered ahead
        ("POST", "/internal/v1/leases", {"release": []}),
        ("GET", f"/internal/v1/accounts/{uuid.uuid4()}/credentials", None),
    ],
)
def test_a_remote_client_is_refused_while_the_development_token_is_in_use(api: Api, method, path, body):
    answer = _request(api, ("10.1.2.3", 1234), method, path, headers=SERVICE, json=body)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert error["code"] == "internal_api_loopback_only" and error["message"]


@pytest.mark.parametrize("client", [("127.0.0.1", 1234), ("::1", 1234), ("127.0.0.53", 1)])
def test_a_loopback_client_is_served(api: Api, client):
    answer = _request(api, client, "POST", "/internal/v1/leases", headers=SERVICE, json={"release": []})
    assert answer.status_code == 200, answer.text
    assert _request(api, client, "POST", "/internal/v1/leases", json={}).status_code == 401


def test_the_management_api_is_served_to_every_host(api: Api):
    answer = _request(api, ("10.1.2.3", 1234), "GET", "/api/v1/me", headers=Api.auth(api.admin_key))
    assert answer.status_code == 200, answer.text


def test_only_the_development_token_restricts_the_internal_api():
    real = AccountServiceSettings(env="test", service_token="Z" + uuid.uuid4().hex + uuid.uuid4().hex)
    assert create_app(real).state.internal_loopback_only is False
    assert create_app(AccountServiceSettings(env="test")).state.internal_loopback_only is True


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        (None, True),
        ("10.0.0.1", False),
        ("testclient", False),
        ("0.0.0.0", False),
        ("192.168.1.2", False),
    ],
)
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback
