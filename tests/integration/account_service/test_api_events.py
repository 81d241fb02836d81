"""Every change made through the management API reaches the exchange through the outbox, as
`noun.verb` events that carry ids and field names, never secrets."""

from __future__ import annotations

from tests.integration.account_service._api import Api

SECRET_TOKEN = "aorEVENTSrefreshTOKEN0001"
SECRET_SESSIONID = "feedfacefeedfacefeedface"


def _of(events: list[dict], account_id: str) -> list[dict]:
    return [e for e in events if e["data"].get("account_id") == account_id]


def test_each_account_change_writes_its_event(api: Api):
    tap = api.tap()
    try:
        _, key = api.new_user()
        kiro = api.call("POST", "/accounts/kiro", key, json={"refresh_token": SECRET_TOKEN}).json()
        dreamina = api.call(
            "POST",
            "/accounts/dreamina",
            key,
            json={
                "email": "events@x.co",
                "password": "pw-events",
                "region": "hk",
                "sessionid": SECRET_SESSIONID,
            },
        ).json()
        api.call("PATCH", f"/accounts/{kiro['id']}", key, json={"weight": 5, "name": "renamed"})
        api.call("POST", f"/accounts/{kiro['id']}/disable", key)
        api.call("POST", f"/accounts/{kiro['id']}/refresh", key)
        api.call("PATCH", f"/accounts/{dreamina['id']}", key, json={"sessionid": "newsessionid0001"})
        api.call("DELETE", f"/accounts/{dreamina['id']}", key)
        api.call(
            "PATCH", f"/accounts/{kiro['id']}", key, json={"region": "not-a-region"}
        )  # refused: no event

        expected_kiro = [
            "account.created",
            "account.updated",
            "account.status_changed",
            "account.refresh_requested",
        ]
        events = tap.wait_for(
            lambda seen: len(_of(seen, kiro["id"])) >= 4 and len(_of(seen, dreamina["id"])) >= 3
        )
        assert [e["type"] for e in _of(events, kiro["id"])] == expected_kiro
        updated = _of(events, kiro["id"])[1]["data"]
        assert updated["fields"] == ["name", "weight"] and updated["kind"] == "kiro"
        status = _of(events, kiro["id"])[2]["data"]
        assert status["status"] == "disabled" and status["reason"].startswith("disabled by")
        assert [e["type"] for e in _of(events, dreamina["id"])] == [
            "account.created",
            "account.updated",
            "account.deleted",
        ]
        assert _of(events, dreamina["id"])[1]["data"]["fields"] == ["sessionid", "sessionid_expires_at"]
        assert all(e["producer"] == "account_service" for e in events)
        raw = "".join(e["raw"] for e in events)
        assert SECRET_TOKEN not in raw and SECRET_SESSIONID not in raw and "newsessionid0001" not in raw
    finally:
        tap.close()


def test_key_and_user_changes_write_their_events(api: Api):
    tap = api.tap()
    try:
        user, key = api.new_user()
        spare = api.call("POST", "/keys", key, json={"name": "spare"}).json()
        api.call("POST", f"/keys/{spare['id']}/disable", key)
        api.call("DELETE", f"/keys/{spare['id']}", key)
        api.call("POST", f"/users/{user['id']}/disable", api.admin_key)
        api.call("POST", f"/users/{user['id']}/admin", api.admin_key, json={"is_admin": True})
        events = tap.wait_for(lambda seen: sum(e["type"] == "user.changed" for e in seen) >= 2)
        key_events = [
            e for e in events if e["type"] == "api_key.changed" and e["data"]["key_id"] == spare["id"]
        ]
        assert len(key_events) == 3, "created, disabled, deleted"
        assert [e["data"]["user_id"] for e in events if e["type"] == "user.changed"] == [user["id"]] * 2
        assert spare["key"] not in "".join(e["raw"] for e in events)
    finally:
        tap.close()
