"""Probes in account_service: the opt-in settings, when the sweeper announces one (only for accounts
that opted in, by their interval, only while it leads), running one now, and what a result does:
a healthy probe brings back a cooling or exhausted account; a failed one changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from shared.settings import DEV_SERVICE_TOKEN
from tests.integration.account_service._api import Api
from tests.integration.account_service.conftest import serving_api

SERVICE = {"authorization": f"Bearer {DEV_SERVICE_TOKEN}"}


@pytest.fixture(scope="module")
def api(infra) -> Iterator[Api]:
    """The service whose own sweeper passes once at start (before these tests add accounts) and then
    not for an hour: the tests' sweepers are the only ones that schedule probes."""
    with serving_api(infra, "probes", POOLGATE_SWEEP_INTERVAL_S="3600") as served:
        yield served


def _custom(api: Api, key: str, **fields) -> dict:
    body = {"api_base": "http://10.0.0.7/v1", "api_key": f"sk-{uuid.uuid4().hex}", "format": "openai"}
    answer = api.call("POST", "/accounts/custom_api", key, json=body | fields)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _patch(api: Api, key: str, account_id: str, **fields):
    return api.call("PATCH", f"/accounts/{account_id}", key, json=fields)


def _opted_in(api: Api, key: str, **fields) -> dict:
    account = _custom(api, key, **fields)
    answer = _patch(api, key, account["id"], probe_enabled=True, probe_interval_s=120)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _report(api: Api, account_id: str, *, ok: bool, **fields):
    body = {"at": datetime.now(UTC).isoformat(), "ok": ok, "method": "models", "status": 200 if ok else 503}
    path = f"/internal/v1/accounts/{account_id}/probes"
    answer = api.client.post(path, headers=SERVICE, json=body | fields)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _status(api: Api, account_id: str) -> tuple[str, str | None]:
    row = api.client.portal.call(
        api.client.app.state.pool.fetchrow,
        "SELECT status, status_reason FROM accounts WHERE id = $1",
        uuid.UUID(account_id),
    )
    return row["status"], row["status_reason"]


def _set_status(api: Api, account_id: str, status: str) -> None:
    api.client.portal.call(
        api.client.app.state.pool.execute,
        "UPDATE accounts SET status = $2, status_reason = 'set by the test',"
        " status_until = CASE WHEN $2 = 'exhausted' THEN now() + interval '1 day' END WHERE id = $1",
        uuid.UUID(account_id),
        status,
    )


def _cooling(api: Api, account_id: str) -> bool:
    live = api.client.portal.call(api.client.app.state.picker.live, [account_id])
    return live[account_id].cooling_until_ms is not None


def _cool(api: Api, account_id: str) -> None:
    api.client.portal.call(api.client.app.state.picker.cool_down, account_id, 600)
    assert _cooling(api, account_id)


def _probe_requests(events: list[dict], ids: set[str]) -> list[str]:
    return [
        e["data"]["account_id"]
        for e in events
        if e["type"] == "account.probe_requested" and e["data"]["account_id"] in ids
    ]


# -- settings -----------------------------------------------------------------------------------------


def test_probes_are_off_by_default_and_turned_on_per_account(api: Api):
    _, key = api.new_user()
    account = _custom(api, key)
    assert (account["probe_enabled"], account["probe_interval_s"]) == (False, 300)

    changed = _patch(api, key, account["id"], probe_enabled=True, probe_interval_s=60)

    assert changed.status_code == 200, changed.text
    assert (changed.json()["probe_enabled"], changed.json()["probe_interval_s"]) == (True, 60)
    listed = api.call("GET", f"/accounts/{account['id']}/probes", key).json()
    assert listed == {"probe_enabled": True, "probe_interval_s": 60, "items": []}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"probe_interval_s": 59}, "probe_interval_s"),
        ({"probe_interval_s": 86401}, "probe_interval_s"),
        ({"probe_interval_s": "often"}, "probe_interval_s"),
        ({"probe_enabled": "maybe"}, "probe_enabled"),
        ({"probe_enabled": None}, "probe_enabled"),
    ],
)
def test_bad_probe_settings_are_422_naming_the_field(api: Api, fields, param):
    _, key = api.new_user()
    account = _custom(api, key)

    answer = _patch(api, key, account["id"], **fields)

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["param"].endswith(param)


def test_probe_settings_and_other_fields_change_together(api: Api):
    _, key = api.new_user()
    account = _custom(api, key)
    answer = _patch(api, key, account["id"], probe_enabled=True, weight=7)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["probe_enabled"], answer.json()["weight"]) == (True, 7)


# -- scheduling ---------------------------------------------------------------------------------------


def test_the_sweeper_announces_probes_only_for_opted_in_accounts_by_their_interval(api: Api):
    _, key = api.new_user()
    enabled = _opted_in(api, key)
    exhausted = _opted_in(api, key)
    _set_status(api, exhausted["id"], "exhausted")
    disabled = _opted_in(api, key)
    _set_status(api, disabled["id"], "disabled")
    not_opted = _custom(api, key)
    mine = {a["id"] for a in (enabled, exhausted, disabled, not_opted)}
    sweeper = api.sweeper()
    start = datetime.now(UTC)

    tap = api.tap()
    try:
        assert api.client.portal.call(sweeper.schedule_probes, start) >= 2
        # Again within the interval (120 s): nothing is due.
        api.client.portal.call(sweeper.schedule_probes, start + timedelta(seconds=60))
        # Once the interval has passed: due again.
        api.client.portal.call(sweeper.schedule_probes, start + timedelta(seconds=121))
        seen = tap.wait_for(lambda events: len(_probe_requests(events, mine)) >= 4)
    finally:
        tap.close()
    announced = _probe_requests(seen, mine)
    assert sorted(announced) == sorted([enabled["id"], exhausted["id"]] * 2)
    event = next(e for e in seen if e["type"] == "account.probe_requested")
    assert event["data"]["kind"] == "custom_api" and "api_key" not in event["raw"]


def test_turning_probes_on_again_makes_the_next_one_due_at_once(api: Api):
    _, key = api.new_user()
    account = _opted_in(api, key)
    sweeper = api.sweeper()
    now = datetime.now(UTC)
    api.client.portal.call(sweeper.schedule_probes, now)
    due_at = api.fetchval("SELECT probe_due_at FROM accounts WHERE id = $1", uuid.UUID(account["id"]))
    assert due_at == now + timedelta(seconds=120)

    _patch(api, key, account["id"], probe_interval_s=600)

    assert api.fetchval("SELECT probe_due_at FROM accounts WHERE id = $1", uuid.UUID(account["id"])) is None


def test_only_the_leading_sweeper_announces_probes(api: Api):
    _, key = api.new_user()
    account = _opted_in(api, key)
    lock_id = uuid.uuid4().int % 2**62  # not the running service's own sweeper lock

    async def scenario() -> tuple[bool, object, bool]:
        holder = await asyncpg.connect(api.database_url)
        follower = api.sweeper(interval_s=0.05, lock_id=lock_id)
        try:
            assert await holder.fetchval("SELECT pg_try_advisory_lock($1)", lock_id)
            await follower.start()
            await asyncio.sleep(0.5)  # many passes, none of them as leader
            was_leader = follower.is_leader
            due_while_following = await holder.fetchval(
                "SELECT probe_due_at FROM accounts WHERE id = $1", uuid.UUID(account["id"])
            )
            await holder.execute("SELECT pg_advisory_unlock($1)", lock_id)
            for _ in range(200):
                if follower.is_leader:
                    break
                await asyncio.sleep(0.05)
            leads = follower.is_leader
        finally:  # never leave a sweeper running on the service's pool (its shutdown would wait)
            await asyncio.wait_for(follower.stop(), 10)
            await holder.close()
        return was_leader, due_while_following, leads

    tap = api.tap()
    try:
        was_leader, due_while_following, leads = api.client.portal.call(scenario)
        assert (was_leader, due_while_following) == (False, None), "a follower scheduled nothing"
        assert leads
        seen = tap.wait_for(lambda events: account["id"] in _probe_requests(events, {account["id"]}))
    finally:
        tap.close()
    assert _probe_requests(seen, {account["id"]}) == [account["id"]]


# -- running one now ----------------------------------------------------------------------------------


def test_probe_now_queues_one_for_the_worker_and_hides_other_users_accounts(api: Api):
    user, key = api.new_user()
    _, stranger = api.new_user()
    account = _custom(api, key)  # not opted in: a person may still probe it

    tap = api.tap()
    try:
        answer = api.call("POST", f"/accounts/{account['id']}/probe", key)
        seen = tap.wait_for(lambda events: account["id"] in _probe_requests(events, {account["id"]}))
    finally:
        tap.close()
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"account_id": account["id"], "requested_by": user["username"]}
    event = next(e for e in seen if e["type"] == "account.probe_requested")
    assert event["data"]["requested_by"] == user["username"]
    assert api.call("POST", f"/accounts/{account['id']}/probe", stranger).status_code == 404
    assert api.call("GET", f"/accounts/{account['id']}/probes", stranger).status_code == 404


# -- results ------------------------------------------------------------------------------------------


def test_a_healthy_probe_ends_a_cooldown_and_says_so(api: Api):
    _, key = api.new_user()
    account = _custom(api, key)
    _cool(api, account["id"])

    stored = _report(api, account["id"], ok=True, latency_ms=12)

    assert stored["reenabled"] is True
    assert not _cooling(api, account["id"])
    assert _status(api, account["id"]) == ("active", "probe: healthy, cooldown ended")
    [shown] = api.call("GET", f"/accounts/{account['id']}/probes", key).json()["items"]
    assert (shown["ok"], shown["latency_ms"], shown["method"]) == (True, 12, "models")
    assert shown["reenabled"] is True


def test_a_healthy_probe_brings_an_exhausted_account_back(api: Api):
    _, key = api.new_user()
    account = _custom(api, key)
    _set_status(api, account["id"], "exhausted")

    tap = api.tap()
    try:
        assert _report(api, account["id"], ok=True)["reenabled"] is True
        seen = tap.wait_for(
            lambda events: any(
                e["type"] == "account.status_changed" and e["data"]["account_id"] == account["id"]
                for e in events
            )
        )
    finally:
        tap.close()
    assert _status(api, account["id"]) == ("active", "probe: healthy, quota back")
    changed = next(e for e in seen if e["type"] == "account.status_changed")
    assert changed["data"]["reason"] == "probe: healthy, quota back"


def test_a_healthy_probe_of_a_healthy_account_changes_nothing(api: Api):
    _, key = api.new_user()
    account = _custom(api, key)
    before = _status(api, account["id"])
    assert _report(api, account["id"], ok=True)["reenabled"] is False
    assert _status(api, account["id"]) == before


@pytest.mark.parametrize("status", ["disabled", "invalid", "pending"])
def test_a_healthy_probe_never_brings_back_an_account_a_person_or_a_refresh_must(api: Api, status):
    _, key = api.new_user()
    account = _custom(api, key)
    _set_status(api, account["id"], status)
    assert _report(api, account["id"], ok=True)["reenabled"] is False
    assert _status(api, account["id"]) == (status, "set by the test")


def test_a_failed_probe_leaves_an_active_account_active_and_a_cooling_one_cooling(api: Api):
    _, key = api.new_user()
    active, cooling, exhausted = _custom(api, key), _custom(api, key), _custom(api, key)
    _cool(api, cooling["id"])
    _set_status(api, exhausted["id"], "exhausted")

    for account in (active, cooling, exhausted):
        for _ in range(5):
            assert _report(api, account["id"], ok=False, detail="HTTP 503: overloaded")["reenabled"] is False

    assert _status(api, active["id"])[0] == "active" and not _cooling(api, active["id"])
    assert _status(api, cooling["id"])[0] == "active" and _cooling(api, cooling["id"])
    assert _status(api, exhausted["id"]) == ("exhausted", "set by the test")
    shown = api.call("GET", f"/accounts/{active['id']}/probes", key).json()["items"]
    assert [(p["ok"], p["status"], p["detail"]) for p in shown] == [(False, 503, "HTTP 503: overloaded")] * 5


def test_only_the_latest_results_are_kept(api: Api):
    _, key = api.new_user()
    account = _custom(api, key)
    kept = api.client.app.state.settings.probe_results_kept
    start = datetime.now(UTC)
    for i in range(kept + 3):
        _report(api, account["id"], ok=True, at=(start + timedelta(seconds=i)).isoformat(), latency_ms=i)

    shown = api.call("GET", f"/accounts/{account['id']}/probes", key, params={"limit": 100}).json()["items"]

    assert [p["latency_ms"] for p in shown] == list(range(kept + 2, 2, -1))
    total = "SELECT count(*) FROM account_probes WHERE account_id = $1"
    assert api.fetchval(total, uuid.UUID(account["id"])) == kept


def test_a_report_for_an_unknown_account_is_404_and_a_bad_one_422(api: Api):
    unknown = api.client.post(
        f"/internal/v1/accounts/{uuid.uuid4()}/probes",
        headers=SERVICE,
        json={"at": datetime.now(UTC).isoformat(), "ok": True, "method": "models"},
    )
    assert unknown.status_code == 404
    _, key = api.new_user()
    account = _custom(api, key)
    bad = api.client.post(
        f"/internal/v1/accounts/{account['id']}/probes",
        headers=SERVICE,
        json={"at": datetime.now(UTC).isoformat(), "ok": True, "method": "models", "detail": "x" * 201},
    )
    assert bad.status_code == 422 and bad.json()["error"]["param"].endswith("detail")
