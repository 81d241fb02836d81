"""Each kind's probe against the fake upstreams (in-process, real HTTP): the cheapest call the
upstream allows, and what is reported of it. The fakes log every call, so the tests see that a
models listing was used and that no chat call was made while the listing exists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY

from services.refresh_worker.dreamina.jimeng import Jimeng
from services.refresh_worker.egress import ProxiedClients
from services.refresh_worker.probes import custom_api, dreamina, kiro
from services.refresh_worker.probes.result import redacted
from services.refresh_worker.probes.runner import Prober
from services.refresh_worker.settings import RefreshWorkerSettings
from services.refresh_worker.upstream_client import REFUSED, upstream_client
from shared.custom_api import AZURE_API_VERSION
from shared.errors import NotFound
from shared.messages.contracts import AccountProbeRequested
from tests.fakes import anthropic_upstream, jimeng_upstream, kiro_upstream, openai_upstream
from tests.fakes._jimeng_state import JimengState
from tests.fakes.egress_proxy import HttpProxy

KEY = "sk-probe-test-key-0123456789"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def _fake(app) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
async def openai_fake():
    async for client in _fake(openai_upstream.create_app()):
        yield client


@pytest.fixture
async def anthropic_fake():
    async for client in _fake(anthropic_upstream.create_app()):
        yield client


async def _log(fake: TestClient) -> list[dict[str, Any]]:
    return await (await fake.get("/_fake/requests")).json()


async def _configure(fake: TestClient, **config) -> None:
    assert (await fake.post("/_fake/config", json=config)).status == 200


def _custom(fake: TestClient, fmt: str, *, path: str = "", **settings) -> dict[str, Any]:
    base = str(fake.make_url(path)).rstrip("/")
    return {
        "kind": "custom_api",
        "settings": {"api_base": base, "format": fmt, "provider": None, "models": [], **settings},
        "secrets": {"api_key": KEY},
    }


async def test_an_openai_account_is_probed_by_its_models_listing_and_no_completion(http, openai_fake):
    result = await custom_api.probe(http, _custom(openai_fake, "openai", path="/v1"), timeout_s=5)

    assert (result.ok, result.method, result.status) == (True, "models", 200)
    assert result.latency_ms is not None and result.latency_ms >= 0
    log = await _log(openai_fake)
    assert [(e["method"], e["path"]) for e in log] == [("GET", "/v1/models")]
    assert log[0]["headers"]["authorization"] == f"Bearer {KEY}"


async def test_without_a_listing_an_openai_account_gets_one_max_tokens_1_call(http, openai_fake):
    await _configure(openai_fake, models_listing=False)
    stored = _custom(openai_fake, "openai", models=["gpt-4o-mini"])

    result = await custom_api.probe(http, stored, timeout_s=5)

    assert (result.ok, result.method, result.status) == (True, "max_tokens_1", 200)
    log = await _log(openai_fake)
    calls = [(e["method"], e["path"]) for e in log]
    assert calls == [("GET", "/v1/models"), ("POST", "/v1/chat/completions")]
    assert log[1]["body"]["max_tokens"] == 1 and log[1]["body"]["model"] == "gpt-4o-mini"


async def test_without_a_listing_or_a_model_nothing_is_spent_and_the_probe_says_why(http, openai_fake):
    await _configure(openai_fake, models_listing=False)

    result = await custom_api.probe(http, _custom(openai_fake, "openai"), timeout_s=5)

    assert (result.ok, result.status) == (False, 404)
    assert "names no model" in result.detail
    assert [e["method"] for e in await _log(openai_fake)] == ["GET"]


async def test_an_azure_account_lists_its_resources_models_with_its_api_key_header(http, openai_fake):
    stored = _custom(openai_fake, "openai", path="/openai/deployments/gpt-4o", provider="azure")

    result = await custom_api.probe(http, stored, timeout_s=5)

    assert result.ok
    [entry] = await _log(openai_fake)
    assert entry["path"] == "/openai/models" and entry["query"]["api-version"]
    assert entry["headers"]["api-key"] == KEY and "authorization" not in entry["headers"]


async def test_a_claude_account_is_probed_by_v1_models_with_its_version_header(http, anthropic_fake):
    result = await custom_api.probe(http, _custom(anthropic_fake, "claude"), timeout_s=5)

    assert (result.ok, result.method) == (True, "models")
    [entry] = await _log(anthropic_fake)
    assert (entry["method"], entry["path"]) == ("GET", "/v1/models")
    assert entry["headers"]["x-api-key"] == KEY and entry["headers"]["anthropic-version"]


async def test_without_a_listing_a_claude_account_gets_one_max_tokens_1_message(http, anthropic_fake):
    await _configure(anthropic_fake, models_listing=False)
    stored = _custom(anthropic_fake, "claude", path="/v1", model_override="claude-haiku-4-5")

    result = await custom_api.probe(http, stored, timeout_s=5)

    assert (result.ok, result.method) == (True, "max_tokens_1")
    log = await _log(anthropic_fake)
    assert [e["path"] for e in log] == ["/v1/models", "/v1/messages"]
    assert log[1]["body"]["max_tokens"] == 1


_AZURE_QUERY = {"tenant": "a", "api-version": AZURE_API_VERSION}


@pytest.mark.parametrize(
    ("fake", "fmt", "path", "provider", "calls"),
    [
        # A base that names the endpoint is called as it is, with the listing beside it.
        (
            "openai",
            "openai",
            "/chat/completions",
            None,
            [("GET", "/models", {}), ("POST", "/chat/completions", {})],
        ),
        ("anthropic", "claude", "/messages", None, [("POST", "/messages", {})]),  # it lists no /models
        # The base's own query goes with Azure's api-version to the listing and to the deployment.
        (
            "openai",
            "openai",
            "/openai/deployments/gpt-4o?tenant=a",
            "azure",
            [
                ("GET", "/openai/models", _AZURE_QUERY),
                ("POST", "/openai/deployments/gpt-4o/chat/completions", _AZURE_QUERY),
            ],
        ),
    ],
)
async def test_the_1_token_call_goes_where_the_proxys_calls_go(
    http, openai_fake, anthropic_fake, fake, fmt, path, provider, calls
):
    upstream = {"openai": openai_fake, "anthropic": anthropic_fake}[fake]
    await _configure(upstream, models_listing=False)
    stored = _custom(upstream, fmt, path=path, provider=provider, models=["m"])

    result = await custom_api.probe(http, stored, timeout_s=5)

    assert (result.ok, result.method) == (True, "max_tokens_1")
    assert [(e["method"], e["path"], e["query"]) for e in await _log(upstream)] == calls


async def test_an_azure_resource_given_as_the_portal_shows_it_is_called_beneath_its_one_openai(
    http, openai_fake
):
    await _configure(openai_fake, models_listing=False)
    stored = _custom(openai_fake, "openai", path="/openai", provider="azure", model_override="prod-4o")

    result = await custom_api.probe(http, stored, timeout_s=5)

    assert (result.ok, result.method) == (True, "max_tokens_1")
    query = {"api-version": AZURE_API_VERSION}
    assert [(e["method"], e["path"], e["query"]) for e in await _log(openai_fake)] == [
        ("GET", "/openai/models", query),
        ("POST", "/openai/deployments/prod-4o/chat/completions", query),
    ]


async def test_an_azure_resource_without_a_deployment_is_not_sent_a_1_token_call(http, openai_fake):
    await _configure(openai_fake, models_listing=False)
    stored = _custom(openai_fake, "openai", provider="azure", models=["gpt-4o"])

    result = await custom_api.probe(http, stored, timeout_s=5)

    assert (result.ok, result.status) == (False, 404)
    assert "needs the deployment" in result.detail
    assert [(e["method"], e["path"]) for e in await _log(openai_fake)] == [("GET", "/openai/models")]


async def test_a_refused_key_fails_the_probe_with_a_short_detail_that_never_holds_the_key(http, openai_fake):
    await _configure(openai_fake, valid_keys=["another-key"])

    result = await custom_api.probe(http, _custom(openai_fake, "openai"), timeout_s=5)

    assert (result.ok, result.status, result.method) == (False, 401, "models")
    assert result.detail.startswith("HTTP 401: Incorrect API key provided")
    assert KEY not in result.detail and KEY[-4:] in result.detail  # the fake's own masking stays


async def test_an_unreachable_upstream_is_a_failed_probe_not_an_error(http):
    stored = {
        "kind": "custom_api",
        "settings": {"api_base": "http://127.0.0.1:9/v1", "format": "openai"},
        "secrets": {"api_key": KEY},
    }
    result = await custom_api.probe(http, stored, timeout_s=2)
    assert (result.ok, result.status) == (False, None)
    assert result.detail.startswith("no answer: ")


def test_details_are_short_and_mask_secrets_and_token_like_text():
    text = redacted(f"bad key {KEY} and Bearer eyJhbGciOiJIUzI1NiJ9abcdefghijkl " + "x" * 500, KEY)
    assert KEY not in text and "eyJhbGciOiJIUzI1NiJ9" not in text
    assert len(text) <= 200


@pytest.fixture
async def kiro_fake():
    async for client in _fake(kiro_upstream.create_app()):
        yield client


async def _mint(fake: TestClient, region: str = "eu-west-1") -> str:
    answer = await fake.post("/_fake/kiro/access-tokens", json={"lineage": "rt-probe", "region": region})
    assert answer.status == 200
    return (await answer.json())["access_token"]


def _template(fake: TestClient) -> str:
    return str(fake.make_url("")).rstrip("/") + "/q/{api_region}/ListAvailableModels"


def _kiro(token: str | None) -> dict[str, Any]:
    return {
        "kind": "kiro",
        "region": "eu-west-1",
        "chat_region": "eu-west-1",
        "settings": {"profile_arn": "arn:aws:codewhisperer:eu-west-1:1:profile/P"},
        "secrets": {"access_token": token, "refresh_token": "rt-probe"},
    }


async def test_a_kiro_account_lists_its_models_at_its_api_regions_host_and_never_chats(http, kiro_fake):
    template = _template(kiro_fake)

    result = await kiro.probe(http, _kiro(await _mint(kiro_fake)), url_template=template, timeout_s=5)

    assert (result.ok, result.method, result.status) == (True, "list_available_models", 200)
    [entry] = await _log(kiro_fake)
    assert entry["path"] == "/q/eu-west-1/ListAvailableModels"
    arn = "arn:aws:codewhisperer:eu-west-1:1:profile/P"
    assert entry["query"] == {"origin": "AI_EDITOR", "profileArn": arn}


async def test_a_kiro_account_whose_token_is_refused_fails_its_probe(http, kiro_fake):
    template = _template(kiro_fake)

    result = await kiro.probe(http, _kiro("not-a-live-token-at-all"), url_template=template, timeout_s=5)

    assert (result.ok, result.status) == (False, 403)
    assert "bearer token" in result.detail and "not-a-live-token-at-all" not in result.detail


async def test_a_kiro_account_without_an_access_token_yet_is_not_called(http, kiro_fake):
    template = _template(kiro_fake)
    result = await kiro.probe(http, _kiro(None), url_template=template, timeout_s=5)
    assert not result.ok and await _log(kiro_fake) == []


@pytest.fixture
async def jimeng_fake():
    state = JimengState(unknown_live=False)
    async for client in _fake(jimeng_upstream.create_app(jimeng=state)):
        yield client, state


async def test_a_dreamina_account_is_probed_by_the_liveness_call(http, jimeng_fake):
    fake, state = jimeng_fake
    state.token("sid-live").live = True
    jimeng = Jimeng(http, base_url=str(fake.make_url("")), timeout_s=5)

    live = await dreamina.probe(jimeng, {"kind": "dreamina", "upstream_credential": "us-sid-live"})
    dead = await dreamina.probe(jimeng, {"kind": "dreamina", "upstream_credential": "us-sid-dead"})

    assert (live.ok, live.method, live.status) == (True, "liveness", 200)
    assert (dead.ok, dead.detail) == (False, "the sessionid is no longer live")
    assert {e["path"] for e in await _log(fake)} == {"/token/check"}


class _Internal:
    """What the prober asks of account_service, recorded."""

    def __init__(self, stored: dict[str, Any] | None) -> None:
        self.stored = stored
        self.reports: list[dict[str, Any]] = []

    async def account_credentials(self, account_id: str) -> dict[str, Any]:
        if self.stored is None:
            raise NotFound("no such account", param="account_id")
        return self.stored

    async def record_probe(self, account_id: str, **report) -> dict[str, Any]:
        self.reports.append({"account_id": account_id, **report})
        return {}


def _prober(internal: _Internal, http: httpx.AsyncClient, proxied: ProxiedClients | None = None) -> Prober:
    """A prober on `http` for every upstream (and, for accounts behind a proxy, `proxied`)."""
    return Prober(
        settings=RefreshWorkerSettings(),
        internal=internal,  # type: ignore[arg-type]
        http=http,
        upstreams=http,
        jimeng=Jimeng(http, base_url="http://127.0.0.1:9", timeout_s=1),
        proxied=proxied or ProxiedClients(lambda proxy: httpx.AsyncClient(proxy=proxy)),
    )


def _probes_counted(kind: str, result: str) -> float:
    return REGISTRY.get_sample_value("poolgate_worker_probes_total", {"kind": kind, "result": result}) or 0.0


async def test_the_prober_reports_each_result_and_counts_it(http, openai_fake):
    internal = _Internal(_custom(openai_fake, "openai"))
    prober = _prober(internal, http)
    before = _probes_counted("custom_api", "ok"), _probes_counted("custom_api", "failed")
    event = AccountProbeRequested(account_id="a1", kind="custom_api")

    await prober.handle(event)
    await _configure(openai_fake, valid_keys=["another-key"])
    await prober.handle(event)

    assert [(r["ok"], r["method"], r["status"]) for r in internal.reports] == [
        (True, "models", 200),
        (False, "models", 401),
    ]
    assert _probes_counted("custom_api", "ok") == before[0] + 1
    assert _probes_counted("custom_api", "failed") == before[1] + 1


async def test_a_deleted_account_is_not_probed(http):
    internal = _Internal(None)
    prober = _prober(internal, http)
    assert await prober.handle(AccountProbeRequested(account_id="gone", kind="kiro")) is None
    assert internal.reports == []


async def test_a_custom_upstream_on_an_internal_address_is_never_connected_to(openai_fake):
    """The guarded client refuses the fake on 127.0.0.1 (as it would a name rebound to an internal
    address); the plain one, for operators who allow private upstreams, reaches it."""
    stored = _custom(openai_fake, "openai")
    async with upstream_client(allow_private=False) as guarded:
        refused = await custom_api.probe(guarded, stored, timeout_s=5)
    async with upstream_client(allow_private=True) as plain:
        reached = await custom_api.probe(plain, stored, timeout_s=5)

    assert (refused.ok, refused.status) == (False, None)
    assert refused.detail == f"no answer: ConnectError: {REFUSED}"
    assert reached.ok
    assert len(await _log(openai_fake)) == 1, "only the allowed client's call arrived"


async def test_an_account_behind_an_egress_proxy_is_probed_through_it_and_never_directly(http, openai_fake):
    proxy = HttpProxy()
    await proxy.start()
    stored = {**_custom(openai_fake, "openai"), "proxy": proxy.url}
    internal = _Internal(stored)
    proxied = ProxiedClients(lambda url: httpx.AsyncClient(proxy=url))
    prober = _prober(internal, http, proxied)
    event = AccountProbeRequested(account_id="a1", kind="custom_api")
    try:
        through = await prober.handle(event)
        assert through is not None and through.ok
        assert proxy.targets == [f"127.0.0.1:{openai_fake.port}"]

        await proxy.stop()
        dead = await prober.handle(event)
    finally:
        await proxy.stop()
        await proxied.close()

    assert dead is not None and not dead.ok
    assert len(await _log(openai_fake)) == 1, "with its proxy dead, the probe did not go direct"
