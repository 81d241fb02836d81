"""`/api/v1/proxies`: egress proxies with write-only passwords and redacted URLs, owner isolation,
validation naming the field, a test through a real local HTTP and SOCKS5 proxy to the echo server,
assigning (many at once, only the owner's), auto-assigning, the refused delete of a proxy in use,
and the proxy URL the allocation and the worker's credentials read carry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shared.egress import proxy_url
from shared.settings import DEV_SERVICE_TOKEN
from tests.fakes.egress_proxy import EchoServer, HttpProxy, Servers, Socks5Proxy
from tests.integration.account_service._api import Api
from tests.integration.account_service.conftest import serving_api
from tests.support.infra import Infra

PASSWORD = "pr0xy-s3cret-pass"


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with Servers() as running:
        yield running


@pytest.fixture(scope="module")
def echo(servers: Servers) -> EchoServer:
    return servers.start(EchoServer(ip="198.51.100.23", country="JP"))


@pytest.fixture(scope="module")
def api(infra: Infra, echo: EchoServer) -> Iterator[Api]:
    with serving_api(infra, "proxies", POOLGATE_PROXY_ECHO_URL=echo.url) as served:
        yield served


def create(api: Api, key: str, **fields) -> dict:
    body = {"name": f"p-{uuid.uuid4().hex[:6]}", "scheme": "http", "host": "127.0.0.1", "port": 3128}
    response = api.call("POST", "/proxies", key, json=body | fields)
    assert response.status_code == 201, response.text
    return response.json()


def custom_account(api: Api, key: str) -> dict:
    body = {"api_base": "https://api.example.com/v1", "api_key": f"sk-{uuid.uuid4().hex}", "format": "openai"}
    response = api.call("POST", "/accounts/custom_api", key, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def credentials(api: Api, account_id: str) -> dict:
    response = api.client.get(
        f"/internal/v1/accounts/{account_id}/credentials",
        headers={"authorization": f"Bearer {DEV_SERVICE_TOKEN}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_the_password_is_stored_encrypted_and_never_shown(api: Api):
    _, key = api.new_user()
    created = create(api, key, username="alice", password=PASSWORD, region="JP")
    assert created["url"] == "http://alice:****@127.0.0.1:3128"
    assert created["has_password"] is True and created["region"] == "jp"
    assert created["healthy"] is None and created["accounts"] == 0
    listed = api.call("GET", "/proxies", key).json()
    one = api.call("GET", f"/proxies/{created['id']}", key).json()
    assert [p["id"] for p in listed] == [created["id"]]
    for shown in (created, listed, one):
        assert PASSWORD not in str(shown) and "password" not in (shown if isinstance(shown, dict) else {})
    stored = api.fetchval("SELECT password FROM egress_proxies WHERE id = $1", uuid.UUID(created["id"]))
    assert PASSWORD not in stored and api.client.app.state.box.decrypt(stored) == PASSWORD


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"scheme": "ftp"}, "scheme"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"host": "http://proxy.example.com/x"}, "host"),
        ({"host": ""}, "host"),
        ({"name": "  "}, "name"),
        ({"region": "Europe/Paris"}, "region"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_422_naming_the_field(api: Api, body: dict, param: str):
    _, key = api.new_user()
    base = {"name": "x", "scheme": "http", "host": "127.0.0.1", "port": 3128}
    response = api.call("POST", "/proxies", key, json=base | body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["param"] == param


def test_a_duplicate_name_is_409_and_a_bad_change_422(api: Api):
    _, key = api.new_user()
    proxy = create(api, key, name="tokyo-1")
    again = api.call("POST", "/proxies", key, json={"name": "tokyo-1", "host": "10.1.1.1", "port": 8080})
    assert again.status_code == 409 and again.json()["error"]["param"] == "name"
    bad = api.call("PATCH", f"/proxies/{proxy['id']}", key, json={"port": -1})
    assert bad.status_code == 422 and bad.json()["error"]["param"] == "port"
    gone = api.call("PATCH", f"/proxies/{proxy['id']}", key, json={"host": None})
    assert gone.status_code == 422 and gone.json()["error"]["param"] == "host"


def test_another_users_proxy_is_404_everywhere(api: Api):
    _, owner_key = api.new_user()
    _, other_key = api.new_user()
    proxy = create(api, owner_key)
    mine = custom_account(api, other_key)
    for method, path, body in [
        ("GET", f"/proxies/{proxy['id']}", None),
        ("PATCH", f"/proxies/{proxy['id']}", {"name": "stolen"}),
        ("DELETE", f"/proxies/{proxy['id']}", None),
        ("POST", f"/proxies/{proxy['id']}/test", None),
        ("POST", f"/proxies/{proxy['id']}/assign", {"account_ids": [mine["id"]]}),
    ]:
        response = api.call(method, path, other_key, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["param"] == "proxy_id"
    assert api.call("GET", "/proxies", other_key).json() == []
    assert api.call("GET", f"/proxies/{proxy['id']}", api.admin_key).status_code == 200


@pytest.mark.parametrize("kind", ["http", "socks5"])
def test_a_test_goes_through_the_proxy_to_the_echo_url(api: Api, servers: Servers, echo: EchoServer, kind):
    auth = ("bob", PASSWORD)
    fake = servers.start(HttpProxy(auth=auth) if kind == "http" else Socks5Proxy(auth=auth))
    _, key = api.new_user()
    proxy = create(api, key, scheme=kind, port=fake.port, username="bob", password=PASSWORD)
    tested = api.call("POST", f"/proxies/{proxy['id']}/test", key)
    assert tested.status_code == 200, tested.text
    answer = tested.json()
    assert answer["ok"] is True and answer["exit_ip"] == "198.51.100.23" and answer["exit_country"] == "JP"
    assert answer["latency_ms"] > 0
    assert answer["proxy"]["healthy"] is True and answer["proxy"]["exit_country"] == "JP"
    assert fake.targets == [f"127.0.0.1:{echo.port}"]  # the echo was reached through the proxy

    api.call("PATCH", f"/proxies/{proxy['id']}", key, json={"password": "wrong"})
    refused = api.call("POST", f"/proxies/{proxy['id']}/test", key).json()
    assert refused["ok"] is False and refused["proxy"]["healthy"] is False
    assert "ProxyError" in refused["error"] and fake.refused == 1
    assert PASSWORD not in str(refused) and "wrong" not in refused["error"]

    servers.stop(fake)
    api.call("PATCH", f"/proxies/{proxy['id']}", key, json={"password": PASSWORD})
    dead = api.call("POST", f"/proxies/{proxy['id']}/test", key).json()
    assert dead["ok"] is False and "ProxyConnectionError" in dead["error"]
    assert dead["proxy"]["last_error"] == dead["error"]


def test_assign_many_unassign_and_the_refused_delete(api: Api):
    _, key = api.new_user()
    _, other_key = api.new_user()
    proxy = create(api, key, username="u", password=PASSWORD)
    first, second = custom_account(api, key), custom_account(api, key)
    foreign = custom_account(api, other_key)
    tap = api.tap()
    try:
        assigned = api.call(
            "POST", f"/proxies/{proxy['id']}/assign", key, json={"account_ids": [first["id"], second["id"]]}
        )
        assert assigned.status_code == 200, assigned.text
        assert sorted(assigned.json()["assigned"]) == sorted([first["id"], second["id"]])
        tap.wait_for(
            lambda seen: (
                {first["id"], second["id"]}
                <= {e["data"]["account_id"] for e in seen if e["type"] == "account.updated"}
            )
        )
        assert all(PASSWORD not in e["raw"] for e in tap.seen)
    finally:
        tap.close()
    shown = api.call("GET", f"/accounts/{first['id']}", key).json()["egress_proxy"]
    assert shown["id"] == proxy["id"] and shown["url"] == "http://u:****@127.0.0.1:3128"
    assert credentials(api, first["id"])["proxy"] == proxy_url("http", "127.0.0.1", 3128, "u", PASSWORD)

    # Only accounts the caller may see, and only onto their owner's proxy.
    hidden = api.call("POST", f"/proxies/{proxy['id']}/assign", key, json={"account_ids": [foreign["id"]]})
    assert hidden.status_code == 404 and hidden.json()["error"]["param"] == "account_ids"
    mismatch = api.call(
        "POST", f"/proxies/{proxy['id']}/assign", api.admin_key, json={"account_ids": [foreign["id"]]}
    )
    assert mismatch.status_code == 422 and mismatch.json()["error"]["param"] == "account_ids"
    empty = api.call("POST", f"/proxies/{proxy['id']}/assign", key, json={"account_ids": []})
    assert empty.status_code == 422 and empty.json()["error"]["param"] == "account_ids"

    in_use = api.call("DELETE", f"/proxies/{proxy['id']}", key)
    assert in_use.status_code == 409, in_use.text
    error = in_use.json()["error"]
    assert error["code"] == "proxy_in_use" and "2 account(s)" in error["message"]
    assert api.call("GET", f"/proxies/{proxy['id']}", key).json()["accounts"] == 2

    off = api.call("POST", "/proxies/unassign", key, json={"account_ids": [first["id"], second["id"]]})
    assert off.status_code == 200 and off.json()["left"] == 2
    assert api.call("GET", f"/accounts/{first['id']}", key).json()["egress_proxy"] is None
    assert credentials(api, first["id"])["proxy"] is None
    assert api.call("DELETE", f"/proxies/{proxy['id']}", key).status_code == 204


def test_auto_assign_uses_healthy_proxies_up_to_the_limit_and_the_region(api: Api):
    _, key = api.new_user()
    accounts = [custom_account(api, key) for _ in range(5)]
    healthy_a, healthy_b = create(api, key, region="us"), create(api, key, region="jp")
    untested = create(api, key)
    for proxy in (healthy_a, healthy_b):
        api.fetchval("UPDATE egress_proxies SET healthy = true WHERE id = $1", uuid.UUID(proxy["id"]))

    # custom_api accounts have no region: none fits a same-region rule.
    rule = {"max_per_proxy": 2, "same_region_only": True}
    regional = api.call("POST", "/proxies/auto-assign", key, json=rule)
    assert regional.status_code == 200 and regional.json()["assigned"] == [] and regional.json()["left"] == 5

    answer = api.call("POST", "/proxies/auto-assign", key, json={"max_per_proxy": 2})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert len(result["assigned"]) == 4 and result["left"] == 1
    assert set(result["assigned"]) <= {a["id"] for a in accounts}
    assert sorted(result["proxy_ids"]) == sorted([healthy_a["id"]] * 2 + [healthy_b["id"]] * 2)
    assert api.call("GET", f"/proxies/{untested['id']}", key).json()["accounts"] == 0
    again = api.call("POST", "/proxies/auto-assign", key, json={"max_per_proxy": 2}).json()
    assert again["assigned"] == [] and again["left"] == 1  # every healthy proxy is full

    bad = api.call("POST", "/proxies/auto-assign", key, json={"max_per_proxy": 0})
    assert bad.status_code == 422 and bad.json()["error"]["param"] == "max_per_proxy"


def test_a_dreamina_token_carries_the_proxy_as_jimeng_api_expects(api: Api):
    _, key = api.new_user()
    body = {"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": "pw-1", "region": "us"}
    account = api.call("POST", "/accounts/dreamina", key, json=body | {"sessionid": "abcdef0123456789"})
    assert account.status_code == 201, account.text
    where = {"scheme": "socks5", "host": "proxy.example.net", "port": 1080}
    proxy = create(api, key, **where, username="d", password="p@ss")
    api.call("POST", f"/proxies/{proxy['id']}/assign", key, json={"account_ids": [account.json()["id"]]})
    read = credentials(api, account.json()["id"])
    assert read["proxy"] == "socks5://d:p%40ss@proxy.example.net:1080"
    assert read["upstream_credential"] == "socks5://d:p%40ss@proxy.example.net:1080@us-abcdef0123456789"


@pytest.fixture(scope="module")
def guarded_api(infra: Infra) -> Iterator[Api]:
    with serving_api(infra, "guarded_proxies", POOLGATE_ALLOW_PRIVATE_UPSTREAMS="false") as served:
        yield served


def test_a_proxy_on_an_internal_network_is_refused_unless_private_upstreams_are_allowed(guarded_api: Api):
    body = {"name": "inside", "host": "10.0.0.8", "port": 3128}
    response = guarded_api.call("POST", "/proxies", guarded_api.admin_key, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["param"] == "host"
    assert response.json()["error"]["code"] == "proxy_address_refused"
