"""`GET /api/v1/pool/health`: accounts in every state are counted as available or under the first
reason allocation would skip them for, per kind and per model, within the caller's own pool."""

from __future__ import annotations

import uuid
from datetime import timedelta

from shared.kiro_models import PUBLIC_MODELS
from tests.integration.account_service._api import Api
from tests.integration.account_service.test_allocation import active_kiro, allocate, custom, wait_until
from tests.integration.account_service.test_dreamina_allocation import dreamina

NONE = {
    "pending": 0,
    "disabled": 0,
    "invalid": 0,
    "exhausted": 0,
    "credential_expired": 0,
    "zero_weight": 0,
    "cooling": 0,
    "full": 0,
}


def health(api: Api, key: str, **params) -> dict:
    answer = api.call("GET", "/pool/health", key, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def row(rows: list[dict], **match) -> dict:
    [found] = [r for r in rows if all(r[k] == v for k, v in match.items())]
    return {k: found[k] for k in ("total", "available", "unavailable")}


def counts(total: int, available: int, **unavailable: int) -> dict:
    return {"total": total, "available": available, "unavailable": NONE | unavailable}


def test_each_account_counts_as_available_or_under_the_first_reason_it_cannot_serve(api: Api) -> None:
    user, key = api.new_user()
    serving = custom(api, key, models=["m1"])
    disabled = custom(api, key, models=["m1"])
    assert api.call("POST", f"/accounts/{disabled['id']}/disable", key).status_code == 200
    custom(api, key, models=[], weight=0)  # takes any model name, never picked
    cooling = custom(api, key, models=["m1"])
    api.client.portal.call(api.client.app.state.picker.cool_down, cooling["id"], 60)
    full = custom(api, key, models=["m1"], max_concurrency=1)
    others = [serving["id"], cooling["id"]]
    taken = wait_until(lambda: (r := allocate(api, key, model="m1", exclude=others)).status_code == 200 and r)
    assert taken.json()["account"]["id"] == full["id"], taken.text  # its one slot is now held
    active_kiro(api, key, region="us-east-1", expires_in=timedelta(seconds=-60))  # expired credential
    pending = api.call("POST", "/accounts/kiro", key, json={"refresh_token": f"rt-{uuid.uuid4().hex}"})
    assert pending.status_code == 201

    pool = health(api, key)

    assert pool["user_id"] == user["id"]
    assert {r["kind"] for r in pool["kinds"]} == {"custom_api", "kiro"}
    assert row(pool["kinds"], kind="custom_api") == counts(5, 1, disabled=1, zero_weight=1, cooling=1, full=1)
    assert row(pool["kinds"], kind="kiro") == counts(2, 0, pending=1, credential_expired=1)
    # m1 is served by the four that name it and by the one that takes any model.
    assert row(pool["models"], kind="custom_api", model="m1") == counts(
        5, 1, disabled=1, zero_weight=1, cooling=1, full=1
    )
    assert row(pool["models"], kind="custom_api", model="*") == counts(1, 0, zero_weight=1)
    for model in PUBLIC_MODELS:
        assert row(pool["models"], kind="kiro", capability="chat", model=model) == counts(
            2, 0, pending=1, credential_expired=1
        )


def test_a_user_sees_only_their_own_pool_and_an_admin_anyones(api: Api) -> None:
    owner, owner_key = api.new_user()
    custom(api, owner_key, models=["m2"])
    other, other_key = api.new_user()

    assert health(api, other_key) == {"user_id": other["id"], "public_pool": False, "kinds": [], "models": []}
    refused = api.call("GET", "/pool/health", other_key, params={"user_id": owner["id"]})
    assert refused.status_code == 404 and refused.json()["error"]["param"] == "user_id"

    as_admin = health(api, api.admin_key, user_id=owner["id"])
    assert as_admin == health(api, owner_key)
    assert row(as_admin["models"], kind="custom_api", model="m2") == counts(1, 1)
    everyone = health(api, api.admin_key)
    assert everyone["user_id"] is None
    # Other tests' accounts too (one of the first test's takes any model name, m2 included).
    assert row(everyone["kinds"], kind="custom_api")["total"] > 1
    assert row(everyone["models"], kind="custom_api", model="m2")["available"] >= 1

    unknown = api.call("GET", "/pool/health", api.admin_key, params={"user_id": str(uuid.uuid4())})
    assert unknown.status_code == 404
    malformed = api.call("GET", "/pool/health", api.admin_key, params={"user_id": "nope"})
    assert malformed.status_code == 422 and "user_id" in malformed.text


def test_dreamina_accounts_count_under_the_image_models_of_their_site_and_any_video(api: Api) -> None:
    _, key = api.new_user()
    dreamina(api, key, region="us")
    dreamina(api, key, region="cn")

    pool = health(api, key)

    assert row(pool["kinds"], kind="dreamina") == counts(2, 2)
    image = {r["model"]: r["total"] for r in pool["models"] if r["capability"] == "image"}
    assert image["nanobanana"] == 1  # the US site's model only
    assert image["jimeng-3.1"] == 1  # the CN site's model only
    assert image["jimeng-4.5"] == 2
    assert row(pool["models"], kind="dreamina", capability="video", model="*") == counts(2, 2)
    assert not [r for r in pool["models"] if r["capability"] == "chat"]
