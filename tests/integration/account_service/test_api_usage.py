"""`/api/v1/usage`: a user sees the calls of their own keys and what their own accounts served, an
admin sees everyone's; bad parameters are 4xx naming the field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.account_service._api import Api
from tests.integration.account_service._usage import call, consume, key_id
from tests.integration.account_service.conftest import serving_api
from tests.integration.account_service.test_allocation import custom


@pytest.fixture(scope="module")
def two_users(api: Api) -> dict:
    """A and B, each with a key and an account: A's key made 3 calls on A's account, B's key 2 on
    A's (public) account and 4 on B's."""
    found = {}
    for name in ("a", "b"):
        user, key = api.new_user()
        account = custom(api, key, name=f"acct-{name}", visibility="public")
        found[name] = {"id": user["id"], "username": user["username"], "key": key, "key_id": key_id(api, key)}
        found[name]["account_id"] = account["id"]
    a, b = found["a"], found["b"]
    model = f"model-{uuid.uuid4().hex[:6]}"
    at = datetime.now(UTC) - timedelta(hours=1)

    def by(user, account, n):
        return [
            call(
                key_id=user["key_id"],
                user_id=user["id"],
                account_id=account["account_id"],
                model=model,
                at=at,
            )
            for _ in range(n)
        ]

    consume(api, by(a, a, 3) + by(b, a, 2) + by(b, b, 4))
    return found | {"model": model}


def _get(api: Api, key: str, path: str = "/usage", **params):
    return api.call("GET", path, key, params=params)


def _groups(api: Api, key: str, **params) -> dict[str, int]:
    response = _get(api, key, **params)
    assert response.status_code == 200, response.text
    return {g["id"]: g["requests"] for g in response.json()["groups"]}


def test_a_user_sees_their_own_keys_calls_and_what_their_accounts_served(api: Api, two_users) -> None:
    a, b = two_users["a"], two_users["b"]
    assert _groups(api, a["key"], by="key") == {a["key_id"]: 3}  # B's key is not shown
    assert _groups(api, a["key"], by="account") == {a["account_id"]: 5}  # whoever's calls
    assert _groups(api, a["key"], by="model") == {two_users["model"]: 3}
    assert _groups(api, b["key"], by="account") == {b["account_id"]: 4}
    assert _groups(api, b["key"], by="model") == {two_users["model"]: 6}
    names = {g["id"]: g["name"] for g in _get(api, a["key"], by="account").json()["groups"]}
    assert names == {a["account_id"]: "acct-a"}
    series = _get(api, a["key"], "/usage/series", account_id=a["account_id"], since="3h").json()
    assert sum(p["requests"] for p in series["points"]) == 5


def test_another_users_key_account_or_name_is_refused(api: Api, two_users) -> None:
    a, b = two_users["a"], two_users["b"]
    for path, params, status, param in [
        ("/usage", {"key_id": b["key_id"]}, 404, "key_id"),
        ("/usage/series", {"key_id": b["key_id"]}, 404, "key_id"),
        ("/usage", {"account_id": b["account_id"]}, 404, "account_id"),
        ("/usage", {"user": b["username"]}, 403, "user"),
        ("/usage", {"by": "user"}, 403, "by"),
    ]:
        response = _get(api, a["key"], path, **params)
        assert response.status_code == status, (params, response.text)
        assert response.json()["error"]["param"] == param


def test_an_admin_sees_every_call_and_may_group_and_filter_by_user(api: Api, two_users) -> None:
    a, b, model = two_users["a"], two_users["b"], two_users["model"]
    admin = api.admin_key
    assert _groups(api, admin, by="user", model=model) == {a["id"]: 3, b["id"]: 6}
    users = {g["name"] for g in _get(api, admin, by="user", model=model).json()["groups"]}
    assert users == {a["username"], b["username"]}
    assert _groups(api, admin, by="account", model=model) == {a["account_id"]: 5, b["account_id"]: 4}
    assert _groups(api, admin, by="key", user=b["username"], model=model) == {b["key_id"]: 6}
    assert _groups(api, admin, by="model", key_id=b["key_id"], account_id=a["account_id"]) == {model: 2}
    unknown = _get(api, admin, user="nobody-at-all")
    assert (unknown.status_code, unknown.json()["error"]["param"]) == (404, "user")


def test_groups_past_the_limit_are_counted_in_the_total(api: Api, two_users) -> None:
    report = _get(api, api.admin_key, by="account", model=two_users["model"], limit=1).json()
    assert [g["requests"] for g in report["groups"]] == [5]
    assert (report["more"], report["total"]["requests"]) == (1, 9)


def test_the_series_counts_by_day_and_refuses_too_many_points(api: Api, two_users) -> None:
    a = two_users["a"]
    days = _get(api, a["key"], "/usage/series", bucket="day", since="2d").json()
    assert len(days["points"]) in (3, 4)  # the day two days ago to today, whatever the hour
    assert sum(p["requests"] for p in days["points"]) == 3
    refused = _get(api, a["key"], "/usage/series", bucket="hour", since="200d")
    assert refused.status_code == 422
    assert refused.json()["error"]["param"] == "since"


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "0d"}, "since"),
        ({"since": "0001-01-01T00:00:00+05:00"}, "since"),  # before year 1 in UTC
        ({"by": "planet"}, "by"),
        ({"limit": "0"}, "limit"),
        ({"key_id": "not-a-uuid"}, "key_id"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(api: Api, params, param) -> None:
    response = _get(api, api.admin_key, **params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["param"] in (param, f"query.{param}")  # as FastAPI checks name them


def test_a_since_far_in_the_past_or_future_is_answered(api: Api) -> None:
    for since in ("0001-01-01T00:00:00", "9999-12-31T23:59:59+00:00", "99999d"):
        assert _get(api, api.admin_key, since=since).status_code == 200
    assert _get(api, api.admin_key, "/usage/series", since="9999-12-31T23:59:59Z").json()["points"] == []


def test_days_of_a_series_are_the_configured_days(infra) -> None:
    """In Asia/Shanghai (UTC+8), 15:30 and 16:30 UTC are 23:30 and 00:30 local: two days, not one."""
    with serving_api(infra, "usage_tz", POOLGATE_TIMEZONE="Asia/Shanghai") as api:
        user, key = api.new_user()
        account = custom(api, key)
        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
        mine = {"key_id": key_id(api, key), "user_id": user["id"], "account_id": account["id"], "model": "m"}
        consume(
            api,
            [
                call(**mine, at=day + timedelta(hours=15, minutes=30)),
                call(**mine, at=day + timedelta(hours=16, minutes=30)),
            ],
        )
        series = _get(api, key, "/usage/series", bucket="day", since="5d").json()
        busy = {datetime.fromisoformat(p["start"]): p["requests"] for p in series["points"] if p["requests"]}
        local_midnight = day - timedelta(hours=8)  # the start of day D in Shanghai, in UTC
        assert busy == {local_midnight: 1, local_midnight + timedelta(days=1): 1}
