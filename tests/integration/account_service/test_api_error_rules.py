"""`/api/v1/error-rules`: validation errors naming the field (never a 500), owner isolation, admin-only
global rules, order by position, and the sample tester."""

from __future__ import annotations

import pytest

from tests.integration.account_service._api import Api
from tests.integration.account_service.test_allocation import custom


def create(api: Api, key: str, **fields) -> dict:
    response = api.call("POST", "/error-rules", key, json=fields)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"match_type": "regex", "pattern": "(unclosed", "action": "ignore"}, "pattern"),
        ({"match_type": "regex", "pattern": r"(a)\1", "action": "ignore"}, "pattern"),  # RE2: no backrefs
        ({"pattern": "x", "action": "explode"}, "action"),
        ({"action": "ignore"}, "pattern"),  # neither a status nor a pattern
        ({"status_code": 700, "action": "ignore"}, "status_code"),
        ({"status_code": 400, "action": "cooldown"}, "seconds"),
        ({"status_code": 400, "action": "exhausted"}, "seconds"),
        ({"status_code": 400, "action": "exhausted", "seconds": 60, "until_next_day": True}, "seconds"),
        ({"status_code": 400, "action": "disable", "seconds": 60}, "seconds"),
        ({"status_code": 400, "action": "cooldown", "seconds": 0}, "seconds"),
        ({"status_code": 400, "action": "ignore", "match_type": "glob", "pattern": "x"}, "match_type"),
        ({"status_code": 400, "action": "ignore", "pattern": ""}, "pattern"),
        ({"status_code": 400, "action": "ignore", "pattern": "x" * 1001}, "pattern"),
        ({"status_code": 400, "action": "ignore", "kind": "gemini"}, "kind"),
    ],
)
def test_bad_rules_are_422_naming_the_field(api: Api, fields: dict, param: str) -> None:
    _, key = api.new_user()
    response = api.call("POST", "/error-rules", key, json=fields)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["param"] == param


def test_an_update_is_checked_like_a_new_rule(api: Api) -> None:
    _, key = api.new_user()
    rule = create(api, key, pattern="suspended", action="disable", reason="suspended upstream")
    bad = api.call("PATCH", f"/error-rules/{rule['id']}", key, json={"match_type": "regex", "pattern": "(("})
    assert bad.status_code == 422 and bad.json()["error"]["param"] == "pattern"
    cleared = api.call("PATCH", f"/error-rules/{rule['id']}", key, json={"pattern": None})
    assert cleared.status_code == 422 and cleared.json()["error"]["param"] == "pattern"
    null_action = api.call("PATCH", f"/error-rules/{rule['id']}", key, json={"action": None})
    assert null_action.status_code == 422 and null_action.json()["error"]["param"] == "action"
    changed = api.call(
        "PATCH", f"/error-rules/{rule['id']}", key, json={"action": "cooldown", "seconds": 90, "position": 5}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["action"], changed.json()["seconds"], changed.json()["position"]) == (
        "cooldown",
        90,
        5,
    )


def test_rules_are_their_owners_and_global_ones_are_admins(api: Api) -> None:
    _, owner_key = api.new_user()
    _, other_key = api.new_user()
    mine = create(api, owner_key, status_code=418, action="ignore")
    assert mine["user_id"] is not None
    for method, body in [("GET", None), ("PATCH", {"enabled": False}), ("DELETE", None)]:
        response = api.call(method, f"/error-rules/{mine['id']}", other_key, json=body)
        assert response.status_code == 404 and response.json()["error"]["param"] == "rule_id"
    refused = api.call(
        "POST", "/error-rules", owner_key, json={"status_code": 418, "action": "ignore", "global_rule": True}
    )
    assert refused.status_code == 403 and refused.json()["error"]["param"] == "global_rule"

    everyone = create(api, api.admin_key, status_code=503, action="cooldown", seconds=30, global_rule=True)
    assert everyone["user_id"] is None
    listed = [r["id"] for r in api.call("GET", "/error-rules", other_key).json()]
    assert everyone["id"] in listed and mine["id"] not in listed
    change = api.call("PATCH", f"/error-rules/{everyone['id']}", other_key, json={"enabled": False})
    assert change.status_code == 403
    # A rule for an account must name one of the owner's own accounts.
    other_account = custom(api, other_key)
    foreign = api.call(
        "POST",
        "/error-rules",
        owner_key,
        json={"status_code": 400, "action": "ignore", "account_id": other_account["id"]},
    )
    assert foreign.status_code == 404 and foreign.json()["error"]["param"] == "account_id"
    assert api.call("DELETE", f"/error-rules/{mine['id']}", owner_key).status_code == 204
    assert api.call("GET", f"/error-rules/{mine['id']}", owner_key).status_code == 404


def test_the_tester_names_the_first_matching_rule_by_position(api: Api) -> None:
    _, key = api.new_user()
    account = custom(api, key)
    later = create(api, key, pattern="suspended", action="disable", reason="account suspended", position=20)
    earlier = create(
        api,
        key,
        status_code=403,
        match_type="regex",
        pattern=r"organi[sz]ation .* (suspended|banned)",
        action="cooldown",
        seconds=600,
        position=10,
    )
    body = '{"error": {"message": "This organization has been suspended. Contact ops@example.com"}}'
    verdict = api.call(
        "POST", "/error-rules/test", key, json={"status": 403, "body": body, "account_id": account["id"]}
    )
    assert verdict.status_code == 200, verdict.text
    got = verdict.json()
    assert got["matched"] and got["rule"]["id"] == earlier["id"] and got["action"] == "cooldown"
    assert (
        "600 s" in got["effect"]
        and "ops@example.com" not in got["excerpt"]
        and "[redacted]" in got["excerpt"]
    )
    # Another status: the regex rule's status condition fails, the substring rule decides.
    other = api.call(
        "POST", "/error-rules/test", key, json={"status": 400, "body": body, "kind": "custom_api"}
    ).json()
    assert other["rule"]["id"] == later["id"] and "disabled (account suspended)" in other["effect"]
    # Another kind: no rule is scoped away from it, but nothing in the body matches either.
    none = api.call(
        "POST", "/error-rules/test", key, json={"status": 500, "body": "overloaded", "kind": "kiro"}
    ).json()
    assert not none["matched"] and none["rule"] is None and "default" in none["effect"]
    missing = api.call("POST", "/error-rules/test", key, json={"status": 500, "body": "x"})
    assert missing.status_code == 422 and missing.json()["error"]["param"] == "kind"


def test_a_rule_is_listed_in_the_order_it_is_tried(api: Api) -> None:
    _, key = api.new_user()
    second = create(api, key, status_code=500, action="ignore", position=50)
    first = create(api, key, status_code=501, action="ignore", position=1)
    ids = [r["id"] for r in api.call("GET", "/error-rules", key).json() if r["user_id"] is not None]
    assert ids.index(first["id"]) < ids.index(second["id"])
