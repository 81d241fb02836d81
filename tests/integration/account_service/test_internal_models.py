"""`POST /internal/v1/models`: the chat models a key's pool can serve, by the allocation's rules.

account_service runs in-process on the real PostgreSQL, Redis and RabbitMQ; accounts reach the
index through the events every replica consumes, so answers are awaited, not assumed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shared.kiro_models import PUBLIC_MODELS
from tests.integration.account_service._api import Api
from tests.integration.account_service.conftest import serving_api
from tests.integration.account_service.test_allocation import SERVICE, active_kiro, custom, wait_until
from tests.support.infra import Infra


def models(api: Api, key: str):
    return api.client.post("/internal/v1/models", headers=SERVICE, json={"api_key": key})


def models_once(api: Api, key: str, predicate) -> dict:
    """The answer, once the index has caught up with the accounts just made."""
    return wait_until(lambda: (r := models(api, key)).status_code == 200 and predicate(b := r.json()) and b)


def test_a_key_without_accounts_has_no_models(api: Api) -> None:
    _, key = api.new_user()
    response = models(api, key)
    assert response.status_code == 200, response.text
    assert response.json() == {"models": [], "any_model": False, "accounts": 0}


def test_custom_accounts_contribute_their_model_lists(api: Api) -> None:
    _, key = api.new_user()
    custom(api, key, models=["gpt-4o", "deepseek-chat"])
    custom(api, key, models=["gpt-4o-mini", "gpt-4o"], format="openai")
    answer = models_once(api, key, lambda b: len(b["models"]) == 3)
    assert answer == {"models": ["deepseek-chat", "gpt-4o", "gpt-4o-mini"], "any_model": False, "accounts": 2}


def test_a_custom_account_without_a_list_serves_any_model_and_lists_only_known_ones(api: Api) -> None:
    _, key = api.new_user()
    custom(api, key, models=[])
    assert models_once(api, key, lambda b: b["any_model"]) == {"models": [], "any_model": True, "accounts": 1}
    custom(api, key, models=["my-model"])
    assert models_once(api, key, lambda b: b["models"]) == {
        "models": ["my-model"],
        "any_model": True,
        "accounts": 2,
    }


def test_an_active_kiro_account_serves_the_public_claude_models(api: Api) -> None:
    _, key = api.new_user()
    custom(api, key, models=["claude-sonnet-4-5", "gpt-4o"])
    active_kiro(api, key, region="eu-west-1")
    answer = models_once(api, key, lambda b: len(b["models"]) > 2)
    # Kiro's names first, then the custom ones it does not already name; no duplicates.
    assert answer["models"] == [*PUBLIC_MODELS, "gpt-4o"]
    assert answer["any_model"] is False


def test_a_pending_kiro_account_and_an_active_dreamina_account_serve_no_chat_models(api: Api) -> None:
    _, key = api.new_user()
    pending = api.call("POST", "/accounts/kiro", key, json={"refresh_token": f"rt-{uuid.uuid4().hex}"})
    assert pending.status_code == 201 and pending.json()["status"] == "pending", pending.text
    dreamina = api.call(
        "POST",
        "/accounts/dreamina",
        key,
        json={"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": "p", "region": "us"},
    )
    assert dreamina.status_code == 201, dreamina.text
    renewed = api.client.put(
        f"/internal/v1/accounts/{dreamina.json()['id']}/credentials",
        headers=SERVICE,
        json={"expires_at": None, "secrets": {"sessionid": "s" * 32}},
    )
    assert renewed.json()["status"] == "active", renewed.text
    # Indexed: it now takes image calls.
    image = {"api_key": key, "capability": "image", "model": None}
    wait_until(
        lambda: api.client.post("/internal/v1/allocations", headers=SERVICE, json=image).status_code == 200
    )
    assert models(api, key).json() == {"models": [], "any_model": False, "accounts": 0}


def test_a_disabled_account_leaves_the_list(api: Api) -> None:
    _, key = api.new_user()
    account = custom(api, key, models=["going-away"])
    models_once(api, key, lambda b: b["models"] == ["going-away"])
    assert api.call("POST", f"/accounts/{account['id']}/disable", key).status_code == 200
    models_once(api, key, lambda b: b["models"] == [])


def test_other_users_private_accounts_are_not_listed(api: Api) -> None:
    _, mine = api.new_user()
    _, theirs = api.new_user()
    custom(api, theirs, models=["their-private"])
    custom(api, theirs, models=["their-public"], visibility="public")
    models_once(api, theirs, lambda b: len(b["models"]) == 2)
    custom(api, mine, models=["mine"])
    # This service runs without the public pool (the default): only the key's own accounts.
    assert models_once(api, mine, lambda b: b["models"]) == {
        "models": ["mine"],
        "any_model": False,
        "accounts": 1,
    }


def test_an_unknown_key_is_401_and_a_disabled_key_403_as_in_allocation(api: Api) -> None:
    response = models(api, "pg-not-a-key")
    assert response.status_code == 401
    assert response.json()["error"]["kind"] == "authentication"

    _, key = api.new_user()
    listed = api.call("GET", "/keys", key).json()
    assert api.call("POST", f"/keys/{listed[0]['id']}/disable", key).status_code == 200
    refused = wait_until(lambda: (r := models(api, key)).status_code == 403 and r)
    assert refused.json()["error"]["code"] == "key_disabled"


def test_the_service_token_and_an_api_key_are_required(api: Api) -> None:
    assert api.client.post("/internal/v1/models", json={"api_key": "pg-x"}).status_code == 401
    for body in ({}, {"api_key": ""}, {"api_key": 7}, [1]):
        response = api.client.post("/internal/v1/models", headers=SERVICE, json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["param"] == "api_key"


@pytest.fixture(scope="module")
def public_api(infra: Infra) -> Iterator[Api]:
    """A second account_service, on a database of its own, with the public pool turned on."""
    with serving_api(infra, "pub", POOLGATE_PUBLIC_POOL="true") as served:
        yield served


def test_with_the_public_pool_on_other_users_public_accounts_are_listed(public_api: Api) -> None:
    api = public_api
    _, mine = api.new_user()
    _, theirs = api.new_user()
    custom(api, theirs, models=["their-private"])
    custom(api, theirs, models=["their-public"], visibility="public")
    custom(api, mine, models=["mine"])
    answer = models_once(api, mine, lambda b: len(b["models"]) == 2)
    assert answer == {"models": ["mine", "their-public"], "any_model": False, "accounts": 2}
