"""Users and API keys through the management API: admin rights, keys shown once, disabling works."""

from __future__ import annotations

from tests.integration.account_service._api import Api


def test_me_names_the_caller_and_the_key(api: Api):
    user, key = api.new_user()
    me = api.call("GET", "/me", key)
    assert me.status_code == 200
    assert (me.json()["username"], me.json()["is_admin"], me.json()["key_prefix"]) == (
        user["username"],
        False,
        key[:10],
    )


def test_users_are_for_admins_only(api: Api):
    _, key = api.new_user()
    assert api.call("GET", "/users", key).status_code == 403
    assert api.call("POST", "/users", key, json={"username": "sneaky"}).status_code == 403
    other, _ = api.new_user()
    # Users export their own Dreamina accounts (test_import_export.py), never another user's.
    refused = api.call("GET", "/accounts/dreamina/export", key, params={"owner": other["username"]})
    assert refused.status_code == 403 and refused.json()["error"]["param"] == "owner"
    assert api.call("GET", "/accounts/kiro/export", key).status_code == 403
    admin, admin_key = api.new_user(is_admin=True)
    assert api.call("GET", "/users", admin_key).status_code == 200, "an admin user's keys have admin rights"
    assert admin["username"] in api.call("GET", "/users", api.admin_key).text


def test_duplicate_and_malformed_usernames(api: Api):
    user, _ = api.new_user()
    duplicate = api.call("POST", "/users", api.admin_key, json={"username": user["username"]})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["param"] == "username"
    assert api.call("POST", "/users", api.admin_key, json={"username": "has space"}).status_code == 422


def test_a_key_is_shown_once_and_listed_by_prefix_without_its_hash(api: Api):
    _, key = api.new_user()
    created = api.call("POST", "/keys", key, json={"name": "laptop"})
    assert created.status_code == 201
    plaintext = created.json()["key"]
    listed = api.call("GET", "/keys", key)
    assert listed.status_code == 200
    assert plaintext not in listed.text and "hash" not in listed.text
    entry = next(k for k in listed.json() if k["id"] == created.json()["id"])
    assert entry["prefix"] == plaintext[:10] and entry["name"] == "laptop" and entry["enabled"] is True
    assert {"last_used_at", "request_count", "created_at"} <= set(entry)
    assert api.call("GET", "/me", plaintext).status_code == 200


def test_a_disabled_key_is_403_and_works_again_when_enabled(api: Api):
    _, key = api.new_user()
    spare = api.call("POST", "/keys", key, json={"name": "spare"}).json()
    assert api.call("POST", f"/keys/{spare['id']}/disable", key).json()["enabled"] is False
    refused = api.call("GET", "/me", spare["key"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "key_disabled"
    assert api.call("POST", f"/keys/{spare['id']}/enable", key).status_code == 200
    assert api.call("GET", "/me", spare["key"]).status_code == 200


def test_a_deleted_key_is_401(api: Api):
    _, key = api.new_user()
    spare = api.call("POST", "/keys", key, json={}).json()
    assert api.call("DELETE", f"/keys/{spare['id']}", key).status_code == 204
    assert api.call("GET", "/me", spare["key"]).status_code == 401


def test_a_disabled_users_keys_are_403_until_enabled(api: Api):
    user, key = api.new_user()
    disabled = api.call("POST", f"/users/{user['id']}/disable", api.admin_key)
    assert disabled.status_code == 200 and disabled.json()["disabled_at"] is not None
    refused = api.call("GET", "/me", key)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "user_disabled"
    assert api.call("GET", "/accounts", key).status_code == 403
    assert api.call("POST", f"/users/{user['id']}/enable", api.admin_key).json()["disabled_at"] is None
    assert api.call("GET", "/me", key).status_code == 200


def test_an_admin_cannot_disable_themselves(api: Api):
    me = api.call("GET", "/me", api.admin_key).json()
    assert api.call("POST", f"/users/{me['user_id']}/disable", api.admin_key).status_code == 409


def test_another_users_keys_are_404_but_admins_may_manage_them(api: Api):
    alice, alice_key = api.new_user()
    _, bob_key = api.new_user()
    alices = api.call("GET", "/keys", alice_key).json()[0]
    assert api.call("POST", f"/keys/{alices['id']}/disable", bob_key).status_code == 404
    assert api.call("DELETE", f"/keys/{alices['id']}", bob_key).status_code == 404
    assert api.call("GET", "/keys", bob_key, params={"user": alice["username"]}).status_code == 403
    as_admin = api.call("GET", "/keys", api.admin_key, params={"user": alice["username"]})
    assert [k["id"] for k in as_admin.json()] == [alices["id"]]
    assert api.call("POST", f"/keys/{alices['id']}/disable", api.admin_key).status_code == 200
    assert api.call("GET", "/me", alice_key).status_code == 403


def test_admin_rights_are_given_and_taken_through_the_api(api: Api):
    user, key = api.new_user()
    assert api.call("GET", "/users", key).status_code == 403
    made = api.call("POST", f"/users/{user['id']}/admin", api.admin_key, json={"is_admin": True})
    assert made.status_code == 200 and made.json()["is_admin"] is True
    assert api.call("GET", "/users", key).status_code == 200, "the user's keys have admin rights now"
    taken = api.call("POST", f"/users/{user['id']}/admin", api.admin_key, json={"is_admin": False})
    assert taken.status_code == 200 and taken.json()["is_admin"] is False
    assert api.call("GET", "/users", key).status_code == 403


def test_admin_rights_are_for_admins_to_give_and_not_their_own_to_take(api: Api):
    user, key = api.new_user()
    refused = api.call("POST", f"/users/{user['id']}/admin", key, json={"is_admin": True})
    assert refused.status_code == 403
    me = api.call("GET", "/me", api.admin_key).json()
    self_demotion = api.call("POST", f"/users/{me['user_id']}/admin", api.admin_key, json={"is_admin": False})
    assert self_demotion.status_code == 409
    assert self_demotion.json()["error"]["code"] == "cannot_demote_self"
    assert api.call("GET", "/users", api.admin_key).status_code == 200, "still an admin"
    unknown = api.call(
        "POST", "/users/00000000-0000-0000-0000-000000000001/admin", api.admin_key, json={"is_admin": True}
    )
    assert unknown.status_code == 404
    malformed = api.call("POST", f"/users/{user['id']}/admin", api.admin_key, json={"is_admin": "maybe"})
    assert malformed.status_code == 422 and malformed.json()["error"]["param"] == "is_admin"


def test_the_user_list_says_who_has_a_console_password(api: Api):
    user, _ = api.new_user()
    listed = {u["username"]: u for u in api.call("GET", "/users", api.admin_key).json()}
    assert listed[user["username"]]["has_password"] is False
