"""The accounts management API on the real service: per-kind rules, isolation, masking, filters."""

from __future__ import annotations

import uuid

import orjson
import pytest

from shared.crypto import SecretBox
from tests.integration.account_service._api import Api
from tests.integration.account_service.test_allocation import allocate, wait_until

REFRESH_TOKEN = "aorAAAAAGrefreshTOKENvalue0001"
CLIENT_SECRET = "idc-client-secret-value-0001"
API_KEY = "sk-live-custom-api-key-0001"
PASSWORD = "correct-horse-battery"
SESSIONID = "0123456789abcdef0123456789abcdef"


def _kiro(api: Api, key: str, **extra) -> dict:
    body = {"refresh_token": f"aor{uuid.uuid4().hex}", **extra}
    response = api.call("POST", "/accounts/kiro", key, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _dreamina(api: Api, key: str, **extra) -> dict:
    body = {"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD, "region": "us", **extra}
    response = api.call("POST", "/accounts/dreamina", key, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_kiro_account_starts_pending_in_its_region_with_a_default_name(api: Api):
    _, key = api.new_user()
    account = _kiro(api, key, region="ap-southeast-1", profile_arn="arn:aws:codewhisperer:x")
    assert (account["kind"], account["status"], account["region"]) == ("kiro", "pending", "ap-southeast-1")
    assert account["name"].startswith("kiro-ap-southeast-1-")
    assert account["settings"] == {
        "auth_type": "social",
        "api_region": None,
        "profile_arn": "arn:aws:codewhisperer:x",
    }
    assert _kiro(api, key)["region"] == "us-east-1"


def test_an_unsupported_region_is_a_422_naming_the_allowed_values(api: Api):
    _, key = api.new_user()
    response = api.call("POST", "/accounts/kiro", key, json={"refresh_token": "aorX1", "region": "us-west-2"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["param"] == "region"
    assert "us-east-1, ap-southeast-1, eu-west-1" in error["message"]
    response = api.call(
        "POST", "/accounts/dreamina", key, json={"email": "a@x.co", "password": "p", "region": "eu"}
    )
    assert response.status_code == 422 and "us, hk, jp, sg, cn" in response.json()["error"]["message"]


def test_idc_without_client_secret_is_a_422_naming_it(api: Api):
    _, key = api.new_user()
    response = api.call(
        "POST", "/accounts/kiro", key, json={"refresh_token": "aorX2", "auth_type": "idc", "client_id": "cid"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "client_secret"


def test_dreamina_cn_without_sessionid_is_a_422_and_nothing_is_stored(api: Api):
    _, key = api.new_user()
    response = api.call(
        "POST", "/accounts/dreamina", key, json={"email": "cn@x.co", "password": "p", "region": "cn"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "sessionid"
    response = api.call(
        "POST", "/accounts/dreamina", key, json={"email": "n@x.co", "password": " ", "region": "jp"}
    )
    assert response.status_code == 422
    assert api.call("GET", "/accounts", key).json()["total"] == 0


def test_dreamina_status_expiry_and_can_login(api: Api):
    _, key = api.new_user()
    with_sid = _dreamina(api, key, sessionid=SESSIONID)
    assert with_sid["status"] == "active" and with_sid["can_login"] is True
    assert with_sid["credential_expires_at"] is not None
    cn = _dreamina(api, key, region="cn", sessionid=SESSIONID)
    assert cn["can_login"] is False and cn["secrets"]["sessionid"] == "0123****"
    password_only = _dreamina(api, key)
    assert password_only["status"] == "pending" and password_only["credential_expires_at"] is None


def test_a_duplicate_dreamina_email_of_the_same_owner_is_a_409(api: Api):
    _, key = api.new_user()
    first = _dreamina(api, key, email="Same@Example.com")
    response = api.call(
        "POST", "/accounts/dreamina", key, json={"email": "same@example.com", "password": "p", "region": "hk"}
    )
    assert response.status_code == 409 and response.json()["error"]["param"] == "email"
    _, other_key = api.new_user()
    assert _dreamina(api, other_key, email="same@example.com")["id"] != first["id"], "unique per owner only"


def test_another_users_account_is_404_for_every_operation(api: Api):
    _, alice = api.new_user()
    _, bob = api.new_user()
    account = _kiro(api, alice)
    path = f"/accounts/{account['id']}"
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"weight": 1}),
        ("DELETE", "", None),
        ("POST", "/enable", None),
        ("POST", "/disable", None),
        ("POST", "/refresh", None),
    ):
        response = api.call(method, path + suffix, bob, json=body)
        assert response.status_code == 404, (method, suffix, response.text)
    assert account["id"] not in api.call("GET", "/accounts", bob).text
    assert api.call("GET", path, alice).json()["weight"] == 100, "nothing changed"
    admin_view = api.call("GET", path, api.admin_key)
    assert admin_view.status_code == 200 and admin_view.json()["owner"] == account["owner"]


def test_lists_and_reads_never_contain_a_secret(api: Api):
    _, key = api.new_user()
    kiro = api.call(
        "POST",
        "/accounts/kiro",
        key,
        json={
            "refresh_token": REFRESH_TOKEN,
            "client_id": "idc-client-id-0001",
            "client_secret": CLIENT_SECRET,
        },
    ).json()
    custom = api.call(
        "POST",
        "/accounts/custom_api",
        key,
        json={
            "api_base": "https://api.example.com/v1",
            "api_key": API_KEY,
            "format": "openai",
        },
    ).json()
    dreamina = _dreamina(api, key, sessionid=SESSIONID)
    secrets = (REFRESH_TOKEN, CLIENT_SECRET, "idc-client-id-0001", API_KEY, PASSWORD, SESSIONID)
    for response in (
        api.call("GET", "/accounts", key),
        api.call("GET", "/accounts", api.admin_key, params={"per_page": 200}),
        *(api.call("GET", f"/accounts/{a['id']}", key) for a in (kiro, custom, dreamina)),
    ):
        assert response.status_code == 200
        assert not [s for s in secrets if s in response.text]
    assert kiro["secrets"]["refresh_token"] == "aorA****" and kiro["settings"]["auth_type"] == "idc"
    assert custom["secrets"] == {"api_key": "sk-l****"}
    assert dreamina["secrets"] == {"password": "****", "sessionid": "us-0****"}


def test_filters_and_pagination(api: Api):
    _, key = api.new_user()
    _kiro(api, key, region="eu-west-1")
    _kiro(api, key, region="eu-west-1", visibility="public")
    _kiro(api, key, region="us-east-1")
    _dreamina(api, key, region="sg", sessionid=SESSIONID)

    def listed(**params) -> dict:
        response = api.call("GET", "/accounts", key, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    assert listed(region="eu-west-1")["total"] == 2
    assert {a["region"] for a in listed(region="eu-west-1")["items"]} == {"eu-west-1"}
    assert listed(kind="dreamina", region="sg")["total"] == 1
    assert listed(kind="kiro", visibility="public")["total"] == 1
    assert listed(status="pending")["total"] == 3
    first, second = listed(per_page=3, page=1), listed(per_page=3, page=2)
    assert (first["total"], len(first["items"]), len(second["items"])) == (4, 3, 1)
    assert not {a["id"] for a in first["items"]} & {a["id"] for a in second["items"]}
    assert api.call("GET", "/accounts", key, params={"per_page": 201}).status_code == 422
    bad = api.call("GET", "/accounts", key, params={"region": "mars"})
    assert bad.status_code == 422 and bad.json()["error"]["param"] == "region"


def test_admins_see_everyone_with_owner_names_and_may_filter_by_owner(api: Api):
    alice, alice_key = api.new_user()
    _kiro(api, alice_key)
    listed = api.call("GET", "/accounts", api.admin_key, params={"owner": alice["username"]}).json()
    assert listed["total"] == 1 and listed["items"][0]["owner"] == alice["username"]
    assert api.call("GET", "/accounts", alice_key, params={"owner": "someone-else"}).status_code == 403
    created = api.call(
        "POST",
        "/accounts/kiro",
        api.admin_key,
        params={"owner": alice["username"]},
        json={"refresh_token": "aorFORALICE"},
    )
    assert created.status_code == 201 and created.json()["owner"] == alice["username"]


def test_patch_revalidates_with_the_kinds_rules(api: Api):
    _, key = api.new_user()
    account = _kiro(api, key, region="eu-west-1")
    path = f"/accounts/{account['id']}"
    bad = api.call("PATCH", path, key, json={"region": "moon-1"})
    assert bad.status_code == 422 and bad.json()["error"]["param"] == "region"
    foreign = api.call("PATCH", path, key, json={"models": ["x"]})
    assert foreign.status_code == 422 and foreign.json()["error"]["param"] == "models"
    idc = api.call("PATCH", path, key, json={"auth_type": "idc", "client_id": "cid"})
    assert idc.status_code == 422 and idc.json()["error"]["param"] == "client_secret"
    assert api.call("GET", path, key).json()["region"] == "eu-west-1", "a refused change stores nothing"

    changed = api.call(
        "PATCH", path, key, json={"region": "us-east-1", "weight": 7, "visibility": "public"}
    ).json()
    assert (changed["region"], changed["weight"], changed["visibility"]) == ("us-east-1", 7, "public")
    assert changed["name"].startswith("kiro-us-east-1-"), "a default name follows the region"
    renamed = api.call("PATCH", path, key, json={"name": "mine"}).json()
    assert renamed["name"] == "mine" and renamed["status"] == "pending"


def test_a_new_credential_sends_an_active_account_back_to_its_starting_status(api: Api):
    _, key = api.new_user()
    account = _dreamina(api, key, region="cn", sessionid=SESSIONID)
    path = f"/accounts/{account['id']}"
    assert api.call("PATCH", path, key, json={"sessionid": None}).status_code == 422, "cn needs a sessionid"
    moved = api.call("PATCH", path, key, json={"region": "jp"}).json()
    assert moved["secrets"]["sessionid"] == "jp-0****" and moved["can_login"] is True
    custom = api.call(
        "POST",
        "/accounts/custom_api",
        key,
        json={
            "api_base": "https://api.example.com",
            "api_key": API_KEY,
            "format": "claude",
            "models": ["a"],
        },
    ).json()
    updated = api.call(
        "PATCH", f"/accounts/{custom['id']}", key, json={"models": ["b", "c"], "api_key": "sk-new-key-00000"}
    )
    assert updated.status_code == 200 and updated.json()["settings"]["models"] == ["b", "c"]
    assert updated.json()["secrets"] == {"api_key": "sk-n****"}


def test_a_custom_accounts_provider_is_stored_in_lower_case_and_allocated_so(api: Api):
    _, key = api.new_user()
    body = {
        "api_base": "https://r.openai.azure.com",
        "api_key": API_KEY,
        "format": "openai",
        "provider": " Azure ",
        "model_override": "prod-4o",
    }
    created = api.call("POST", "/accounts/custom_api", key, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["settings"]["provider"] == "azure"
    assert created.json()["name"] == "azure@r.openai.azure.com"
    answer = wait_until(lambda: (r := allocate(api, key, model="gpt-4o")).status_code == 200 and r.json())
    assert answer["upstream"]["provider"] == "azure", "the proxy is handed the name it compares"

    path = f"/accounts/{created.json()['id']}"
    updated = api.call("PATCH", path, key, json={"provider": "OpenRouter"})
    assert updated.status_code == 200 and updated.json()["settings"]["provider"] == "openrouter"


def test_a_new_kiro_credential_drops_the_access_token_and_waits_for_validation(api: Api):
    _, key = api.new_user()
    account = _kiro(api, key, refresh_token=REFRESH_TOKEN)
    path = f"/accounts/{account['id']}"
    # What the refresh worker does once the token is proven: an access token, its expiry, active.
    box = SecretBox(api.client.app.state.settings.secret_keys.get_secret_value())
    validated = {"refresh_token": REFRESH_TOKEN, "access_token": "access-token-value-0001"}
    api.fetchval(
        "UPDATE accounts SET secrets = $2, status = 'active',"
        " credential_expires_at = now() + interval '1 hour' WHERE id = $1 RETURNING 1",
        uuid.UUID(account["id"]),
        box.encrypt(orjson.dumps(validated).decode()),
    )
    kept = api.call("PATCH", path, key, json={"weight": 3}).json()
    assert (kept["status"], kept["secrets"]["access_token"]) == ("active", "acce****")
    assert kept["credential_expires_at"] is not None

    renewed = api.call(
        "PATCH", path, key, json={"client_id": "new-client-id", "client_secret": CLIENT_SECRET}
    ).json()
    assert (renewed["status"], renewed["status_reason"]) == ("pending", "credentials changed")
    assert renewed["settings"]["auth_type"] == "idc", "client credentials alone mean idc"
    assert renewed["secrets"]["access_token"] is None and renewed["credential_expires_at"] is None


def test_enable_disable_delete_and_refresh(api: Api):
    _, key = api.new_user()
    account = _dreamina(api, key, sessionid=SESSIONID)
    path = f"/accounts/{account['id']}"
    disabled = api.call("POST", f"{path}/disable", key).json()
    assert disabled["status"] == "disabled" and disabled["status_reason"].startswith("disabled by")
    enabled = api.call("POST", f"{path}/enable", key).json()
    assert enabled["status"] == "active" and enabled["status_changed_at"] >= disabled["status_changed_at"]
    refresh = api.call("POST", f"{path}/refresh", key)
    assert refresh.status_code == 202 and refresh.json()["account_id"] == account["id"]
    custom = api.call(
        "POST",
        "/accounts/custom_api",
        key,
        json={
            "api_base": "https://api.example.com",
            "api_key": API_KEY,
            "format": "openai",
        },
    ).json()
    assert api.call("POST", f"/accounts/{custom['id']}/refresh", key).status_code == 422
    assert api.call("DELETE", path, key).status_code == 204
    assert api.call("GET", path, key).status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer pg-not-a-key", "Basic abc"])
def test_calls_without_a_valid_key_are_401(api: Api, header):
    headers = {} if header is None else {"authorization": header}
    response = api.client.get("/api/v1/accounts", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["kind"] == "authentication"


def _custom_body(api_base: str) -> dict:
    return {"api_base": api_base, "api_key": API_KEY, "format": "openai"}


def test_an_api_base_that_is_not_globally_routable_is_refused_when_saved(api: Api):
    _, key = api.new_user()
    settings = api.client.app.state.settings
    # Saved while the operator allowed private upstreams (as tests do) ...
    saved = api.call("POST", "/accounts/custom_api", key, json=_custom_body("http://10.0.0.7/v1"))
    assert saved.status_code == 201, saved.text
    path = f"/accounts/{saved.json()['id']}"
    settings.allow_private_upstreams = False
    try:
        for base in ("http://100.100.100.200/v1", "http://[::ffff:10.0.0.1]/v1", "http://127.0.0.1:9/v1"):
            refused = api.call("POST", "/accounts/custom_api", key, json=_custom_body(base))
            assert refused.status_code == 422, base
            error = refused.json()["error"]
            assert (error["param"], error["code"]) == ("api_base", "upstream_address_refused")
        public = api.call("POST", "/accounts/custom_api", key, json=_custom_body("https://8.8.8.8/v1"))
        assert public.status_code == 201, public.text
        # ... its other fields can still be edited; a new internal api_base cannot be saved.
        renamed = api.call("PATCH", path, key, json={"name": "still-editable", "models": ["m"]})
        assert renamed.status_code == 200, renamed.text
        moved = api.call("PATCH", path, key, json={"api_base": "http://169.254.169.254/latest"})
        assert moved.status_code == 422 and moved.json()["error"]["param"] == "api_base"
        assert api.call("PATCH", path, key, json={"api_base": "https://8.8.4.4/v1"}).status_code == 200
    finally:
        settings.allow_private_upstreams = True


def _dreamina_body(**fields) -> dict:
    return {"email": f"{uuid.uuid4().hex[:8]}@example.com", "region": "us", "sessionid": SESSIONID, **fields}


def test_a_dreamina_accounts_own_jimeng_api_base_is_held_to_the_same_guard(api: Api):
    _, key = api.new_user()
    settings = api.client.app.state.settings
    plain = api.call("POST", "/accounts/dreamina", key, json=_dreamina_body())
    assert plain.status_code == 201 and "api_base" not in plain.json()["settings"]  # the operator's server
    settings.allow_private_upstreams = False
    try:
        refused = api.call(
            "POST", "/accounts/dreamina", key, json=_dreamina_body(api_base="http://127.0.0.1:5100")
        )
        assert refused.status_code == 422
        assert (refused.json()["error"]["param"], refused.json()["error"]["code"]) == (
            "api_base",
            "upstream_address_refused",
        )
        moved = api.call(
            "PATCH", f"/accounts/{plain.json()['id']}", key, json={"api_base": "http://10.1.2.3"}
        )
        assert moved.status_code == 422 and moved.json()["error"]["param"] == "api_base"
        own = api.call(
            "POST", "/accounts/dreamina", key, json=_dreamina_body(api_base="https://8.8.8.8/jimeng/")
        )
        assert own.status_code == 201, own.text
        assert own.json()["settings"]["api_base"] == "https://8.8.8.8/jimeng"
    finally:
        settings.allow_private_upstreams = True
    not_a_url = api.call("POST", "/accounts/dreamina", key, json=_dreamina_body(api_base="ftp://x"))
    assert not_a_url.status_code == 422 and not_a_url.json()["error"]["param"] == "api_base"
