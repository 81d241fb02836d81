"""Client-facing errors through the real app, on paths that never reach account_service or RabbitMQ."""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient

from services.proxy_service.app import allocation_channel, create_app
from services.proxy_service.relay import AttemptDeps, Leases, Relay
from services.proxy_service.settings import ProxySettings
from shared.internal_client import InternalClient


@pytest.fixture
def client() -> TestClient:
    app = create_app(ProxySettings())
    # Never started: any call to account_service would fail the test with a 500.
    internal = InternalClient("http://127.0.0.1:9", "token")
    deps = AttemptDeps(session=None, usage=None, leases=Leases(internal), first_byte_timeout_s=1)  # type: ignore[arg-type]
    app.state.relay = Relay(internal=internal, upstreams={}, deps=deps, max_attempts=1)

    @app.post("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret stack detail")

    return TestClient(app, raise_server_exceptions=False)  # no `with`: the lifespan never connects


def test_missing_key_on_chat_completions_is_an_openai_401(client: TestClient) -> None:
    r = client.post("/v1/chat/completions", content=b'{"model":"m","messages":[]}')
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"]["type"] == "authentication_error"
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert r.headers["x-correlation-id"]


def test_missing_key_on_messages_is_an_anthropic_401(client: TestClient) -> None:
    r = client.post("/v1/messages?beta=true", content=b'{"model":"m","messages":[],"max_tokens":1}')
    assert r.status_code == 401
    body = r.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "authentication_error"


def test_invalid_json_is_a_400_in_the_route_format(client: TestClient) -> None:
    r = client.post("/v1/chat/completions", headers={"authorization": "Bearer pg-k"}, content=b"{oops")
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"
    r = client.post("/v1/messages", headers={"x-api-key": "pg-k"}, content=b"{oops")
    assert r.status_code == 400
    assert r.json() == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "the request body is not valid JSON: "
            "unexpected character, expected a string key at character 1",
        },
    }


def test_missing_field_names_the_param(client: TestClient) -> None:
    r = client.post(
        "/v1/chat/completions", headers={"authorization": "Bearer pg-k"}, content=b'{"model":"m"}'
    )
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "messages"
    r = client.post("/v1/messages", headers={"x-api-key": "pg-k"}, content=b'{"model":"m","messages":[]}')
    assert r.status_code == 400
    assert "max_tokens" in r.json()["error"]["message"]


def test_wrong_method_is_rendered_in_the_route_format(client: TestClient) -> None:
    r = client.get("/v1/messages")
    assert r.status_code == 405
    assert r.json()["type"] == "error"
    assert r.json()["error"]["type"] == "invalid_request_error"
    r = client.get("/v1/chat/completions")
    assert r.status_code == 405
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_unknown_path_is_json_not_html(client: TestClient) -> None:
    r = client.get("/nowhere")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"]["kind"] == "not_found"


def test_an_unexpected_exception_is_a_json_500_without_details(client: TestClient) -> None:
    r = client.post("/v1/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {
        "error": {"message": "internal error", "type": "server_error", "param": None, "code": None}
    }
    assert b"secret stack detail" not in r.content
    assert b"Traceback" not in r.content


def test_healthz_answers_without_any_backend(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_metrics_are_exposed(client: TestClient) -> None:
    client.post("/v1/chat/completions", content=b"{}")
    text = client.get("/metrics").text
    assert (
        'poolgate_proxy_requests_total{client_format="openai",kind="none",outcome="client_error",'
        'route="/v1/chat/completions",status="401"}'
    ) in text


def test_the_body_is_not_needed_to_refuse_a_missing_key(client: TestClient) -> None:
    r = client.post("/v1/messages", content=orjson.dumps([1, 2, 3]))
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("url", "channel_on", "uses_channel"),
    [
        ("http://account-service:8001", True, True),
        ("https://account-service.example", True, False),  # TLS in front: something speaks only HTTP
        ("http://account-service:8001", False, False),
    ],
)
def test_the_allocation_channel_is_used_unless_turned_off_or_behind_tls(
    url: str, channel_on: bool, uses_channel: bool
) -> None:
    settings = ProxySettings(account_service_url=url, allocation_channel=channel_on)
    assert (allocation_channel(settings) is not None) is uses_channel
