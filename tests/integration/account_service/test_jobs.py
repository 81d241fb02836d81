"""Refreshing many accounts is a job: answered 202 at once, worked through in chunks (two accounts
each here) by the service's runner, its progress and per-account results read back by whoever asked
(admins: anyone's), and published as `job.progressed` / `job.finished`. A refresh is reported as
queued for the worker, never as done; the worker's verdict shows on the account and beside the job's
line once it is there."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from services.account_service.accounts.service import delete_account, set_enabled
from services.account_service.jobs import service as jobs
from services.account_service.jobs.runner import JobRunner
from services.account_service.jobs.schemas import RefreshJobCreate
from services.account_service.users.schemas import Actor
from tests.integration.account_service._api import Api
from tests.integration.account_service.conftest import serving_api
from tests.integration.account_service.test_allocation import (
    SERVICE,
    active_kiro,
    custom,
    publish_usage,
    wait_until,
)
from tests.support.infra import Infra


@pytest.fixture(scope="module")
def api(infra: Infra) -> Iterator[Api]:
    with serving_api(infra, "jobs", POOLGATE_JOB_CHUNK_SIZE="2") as served:
        yield served


def _kiro(api: Api, key: str) -> dict:
    response = api.call("POST", "/accounts/kiro", key, json={"refresh_token": f"aor{uuid.uuid4().hex}"})
    assert response.status_code == 201, response.text
    return response.json()


def _dreamina(
    api: Api, key: str, *, region: str = "us", password: str = "pw", expires_in_days: int = 30
) -> dict:
    response = api.call(
        "POST",
        "/accounts/dreamina",
        key,
        json={
            "email": f"{uuid.uuid4().hex[:8]}@x.co",
            "password": password,
            "region": region,
            "sessionid": f"sid{uuid.uuid4().hex}",
            "sessionid_expires_at": (datetime.now(UTC) + timedelta(days=expires_in_days)).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def _finished(api: Api, key: str, job_id: str) -> dict:
    return wait_until(
        lambda: (j := api.call("GET", f"/jobs/{job_id}", key).json()).get("status") == "finished" and j
    )


def _start(api: Api, key: str, **body) -> dict:
    response = api.call("POST", "/accounts/refresh", key, json=body)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/api/v1/jobs/{response.json()['id']}"
    return response.json()


def _queued(job: dict) -> set[str]:
    return {item["account_id"] for item in job["items"] if item["state"] == "queued"}


def test_refresh_all_is_a_job_that_queues_each_account_and_reports_its_progress(api: Api) -> None:
    user, key = api.new_user()
    _, other_key = api.new_user()
    pending_kiro = _kiro(api, key)
    kiro = active_kiro(api, key, region="eu-west-1", expires_in=timedelta(hours=5))
    dreamina = _dreamina(api, key)
    cn = _dreamina(api, key, region="cn", password="")
    custom(api, key)  # no credential to refresh: never part of it
    disabled = _kiro(api, key)
    api.call("POST", f"/accounts/{disabled['id']}/disable", key)
    _kiro(api, other_key)  # another user's
    mine = {a["id"] for a in (pending_kiro, kiro, dreamina, cn)}

    tap = api.tap()
    try:
        response = api.client.post(
            "/api/v1/accounts/refresh",
            headers={**api.auth(key), "x-correlation-id": "corr-refresh-all"},
            json={"scope": "all"},
        )
        assert response.status_code == 202, response.text
        started = response.json()
        assert (started["action"], started["total"], started["requested_by"]) == (
            "refresh_all",
            4,
            user["username"],
        )
        assert started["params"] == {"scope": "all"}
        job = _finished(api, key, started["id"])
        events = tap.wait_for(
            lambda seen: any(e["type"] == "job.finished" and e["data"]["job_id"] == job["id"] for e in seen)
        )
    finally:
        tap.close()

    assert (job["total"], job["done"], job["queued"], job["skipped"]) == (4, 4, 4, 0)
    assert job["finished_at"] is not None
    assert _queued(job) == mine and len(job["items"]) == 4
    assert all(item["check"] is None and item["done_at"] for item in job["items"]), "queued is not checked"

    requested = [
        e
        for e in events
        if e["type"] == "account.refresh_requested" and e["data"]["requested_by"] == user["username"]
    ]
    assert Counter(e["data"]["account_id"] for e in requested) == Counter(mine)
    of_job = [e for e in events if e["type"].startswith("job.") and e["data"]["job_id"] == job["id"]]
    assert [(e["type"], e["data"]["queued"]) for e in of_job] == [
        ("job.progressed", 2),
        ("job.progressed", 4),
        ("job.finished", 4),
    ]
    assert of_job[-1]["data"] == {
        "job_id": job["id"],
        "action": "refresh_all",
        "user_id": user["id"],
        "total": 4,
        "queued": 4,
        "skipped": 0,
    }
    assert {e["correlation_id"] for e in requested + of_job} == {"corr-refresh-all"}

    # The worker's verdict (as refresh_worker writes it) shows on the account and on the job's line.
    api.fetchval(
        "UPDATE accounts SET last_check_at = now(), last_check_ok = false, last_check_kind = 'login',"
        " last_check_reason = 'wrong password' WHERE id = $1 RETURNING 1",
        uuid.UUID(dreamina["id"]),
    )
    lines = {i["account_id"]: i for i in api.call("GET", f"/jobs/{job['id']}", key).json()["items"]}
    assert lines[dreamina["id"]]["check"]["ok"] is False
    assert lines[dreamina["id"]]["check"]["reason"] == "wrong password"
    assert lines[kiro["id"]]["check"] is None
    shown = api.call("GET", f"/accounts/{dreamina['id']}", key).json()["last_check"]
    assert (shown["ok"], shown["kind"], shown["reason"]) == (False, "login", "wrong password")


def test_refresh_due_takes_credentials_expiring_within_the_window_or_never_checked(api: Api) -> None:
    _, key = api.new_user()
    soon = active_kiro(api, key, region="us-east-1", expires_in=timedelta(hours=5))
    later = active_kiro(api, key, region="us-east-1", expires_in=timedelta(hours=48))
    never_checked = _kiro(api, key)
    dreamina = _dreamina(api, key, expires_in_days=30)

    due = _finished(api, key, _start(api, key, scope="due")["id"])
    assert _queued(due) == {soon["id"], never_checked["id"]}
    assert due["params"] == {"scope": "due", "due_within_hours": 24.0}

    wider = _finished(api, key, _start(api, key, scope="due", due_within_hours=24 * 40)["id"])
    assert _queued(wider) == {soon["id"], later["id"], never_checked["id"], dreamina["id"]}
    only_dreamina = _finished(
        api, key, _start(api, key, scope="due", due_within_hours=24 * 40, kind="dreamina")["id"]
    )
    assert _queued(only_dreamina) == {dreamina["id"]}


def test_refresh_unavailable_takes_invalid_exhausted_and_pending_accounts(api: Api) -> None:
    _, key = api.new_user()
    active = active_kiro(api, key, region="us-east-1")
    invalid = active_kiro(api, key, region="us-east-1")
    verdict = api.client.post(
        f"/internal/v1/accounts/{invalid['id']}/status",
        headers=SERVICE,
        json={"status": "invalid", "reason": "invalid_grant"},
    )
    assert verdict.status_code == 200, verdict.text
    exhausted = _dreamina(api, key, region="cn", password="")
    publish_usage(api, exhausted["id"], "exhausted", status_code=200)
    wait_until(lambda: api.call("GET", f"/accounts/{exhausted['id']}", key).json()["status"] == "exhausted")
    pending = _kiro(api, key)

    job = _finished(api, key, _start(api, key, scope="unavailable")["id"])
    assert _queued(job) == {invalid["id"], exhausted["id"], pending["id"]}
    assert active["id"] not in {i["account_id"] for i in job["items"]}


def test_a_job_with_no_account_is_finished_at_once(api: Api) -> None:
    _, key = api.new_user()
    custom(api, key)
    tap = api.tap()
    try:
        job = _start(api, key, scope="all")
        assert (job["status"], job["total"], job["done"]) == ("finished", 0, 0)
        events = tap.wait_for(lambda seen: any(e["data"].get("job_id") == job["id"] for e in seen))
    finally:
        tap.close()
    assert [e["type"] for e in events if e["data"].get("job_id") == job["id"]] == ["job.finished"]
    assert api.call("GET", f"/jobs/{job['id']}", key).json()["items"] == []


def test_jobs_are_read_by_who_asked_and_by_admins_and_act_only_on_whose_accounts_they_may(api: Api) -> None:
    alice, alice_key = api.new_user()
    _, bob_key = api.new_user()
    alices = _kiro(api, alice_key)
    bobs = _kiro(api, bob_key)

    job = _finished(api, alice_key, _start(api, alice_key, scope="all")["id"])
    assert _queued(job) == {alices["id"]}
    assert api.call("GET", f"/jobs/{job['id']}", bob_key).status_code == 404
    assert api.call("GET", f"/jobs/{job['id']}", api.admin_key).json()["requested_by"] == alice["username"]
    assert [j["id"] for j in api.call("GET", "/jobs", alice_key).json()["items"]] == [job["id"]]
    assert api.call("GET", "/jobs", bob_key).json() == {"items": [], "page": 1, "per_page": 50, "total": 0}
    assert job["id"] in {j["id"] for j in api.call("GET", "/jobs", api.admin_key).json()["items"]}

    refused = api.call(
        "POST", "/accounts/refresh", bob_key, params={"owner": alice["username"]}, json={"scope": "all"}
    )
    assert refused.status_code == 403 and refused.json()["error"]["param"] == "owner"
    for_alice = api.call(
        "POST", "/accounts/refresh", api.admin_key, params={"owner": alice["username"]}, json={"scope": "all"}
    ).json()
    assert _queued(_finished(api, api.admin_key, for_alice["id"])) == {alices["id"]}
    everyone = _finished(api, api.admin_key, _start(api, api.admin_key, scope="all")["id"])
    assert {alices["id"], bobs["id"]} <= _queued(everyone)
    assert api.call("GET", f"/jobs/{everyone['id']}", alice_key).status_code == 404


def test_results_are_paged_in_job_order(api: Api) -> None:
    _, key = api.new_user()
    made = [_kiro(api, key)["id"] for _ in range(5)]
    job = _finished(api, key, _start(api, key, scope="all")["id"])
    pages = [
        api.call("GET", f"/jobs/{job['id']}", key, params={"page": page, "per_page": 2}).json()["items"]
        for page in (1, 2, 3, 4)
    ]
    assert [len(p) for p in pages] == [2, 2, 1, 0]
    assert [item["account_id"] for page in pages for item in page] == made, "oldest account first"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "scope"),
        ({"scope": "everything"}, "scope"),
        ({"scope": "due", "due_within_hours": 0}, "due_within_hours"),
        ({"scope": "all", "kind": "custom_api"}, "kind"),
        ({"scope": "all", "force": True}, "force"),
    ],
)
def test_a_bad_request_is_a_422_naming_the_field(api: Api, body: dict, param: str) -> None:
    _, key = api.new_user()
    response = api.call("POST", "/accounts/refresh", key, json=body)
    assert response.status_code == 422, response.text
    assert param in response.json()["error"]["param"]
    assert api.call("GET", "/jobs", key).json()["total"] == 0


def _actor(user: dict) -> Actor:
    return Actor(user_id=uuid.UUID(user["id"]), username=user["username"], is_admin=False)


def test_an_account_deleted_or_disabled_before_its_turn_is_skipped_with_the_reason(api: Api) -> None:
    user, key = api.new_user()
    kept, deleted, disabled = (_kiro(api, key) for _ in range(3))
    state = api.client.app.state

    async def start_then_change_accounts() -> str:
        async with state.pool.acquire() as conn, conn.transaction():
            job = await jobs.start_refresh(
                conn,
                actor=_actor(user),
                owner=None,
                spec=RefreshJobCreate(scope="all"),
                now=datetime.now(UTC),
            )
            await delete_account(conn, actor=_actor(user), account_id=uuid.UUID(deleted["id"]))
            await set_enabled(
                conn, state.box, actor=_actor(user), account_id=uuid.UUID(disabled["id"]), enabled=False
            )
        state.jobs.wake()
        return str(job.id)

    job = _finished(api, key, api.client.portal.call(start_then_change_accounts))
    lines = {item["account_id"]: item for item in job["items"]}
    assert (job["queued"], job["skipped"]) == (1, 2)
    assert lines[kept["id"]]["state"] == "queued"
    assert (lines[deleted["id"]]["state"], lines[deleted["id"]]["reason"]) == (
        "skipped",
        "the account was deleted",
    )
    assert (lines[disabled["id"]]["state"], lines[disabled["id"]]["reason"]) == (
        "skipped",
        "the account was disabled",
    )


def test_runners_of_several_replicas_working_at_once_queue_each_account_once(api: Api) -> None:
    user, key = api.new_user()
    made = {_kiro(api, key)["id"] for _ in range(9)}
    state = api.client.app.state
    tap = api.tap()

    async def two_more_replicas_work_it() -> str:
        async with state.pool.acquire() as conn, conn.transaction():
            job = await jobs.start_refresh(
                conn,
                actor=_actor(user),
                owner=None,
                spec=RefreshJobCreate(scope="all"),
                now=datetime.now(UTC),
            )
        runners = [JobRunner(pool=state.pool, days=state.days, chunk_size=2) for _ in range(2)]

        async def drain(runner: JobRunner) -> None:
            while await runner.work_once():
                await asyncio.sleep(0)

        await asyncio.gather(*(drain(r) for r in runners))
        return str(job.id)

    try:
        job = _finished(api, key, api.client.portal.call(two_more_replicas_work_it))
        events = tap.wait_for(
            lambda seen: any(e["type"] == "job.finished" and e["data"]["job_id"] == job["id"] for e in seen)
        )
    finally:
        tap.close()
    assert (job["queued"], job["skipped"]) == (9, 0)
    requested = Counter(
        e["data"]["account_id"]
        for e in events
        if e["type"] == "account.refresh_requested" and e["data"]["requested_by"] == user["username"]
    )
    assert requested == Counter(made)
