"""The sweeper: what it announces, for whom, and that only one replica leads."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from tests.integration.account_service._api import Api
from tests.integration.account_service.test_allocation import active_kiro


def _dreamina(api: Api, key: str, *, region: str, password: str, expires_in: timedelta) -> dict:
    response = api.call(
        "POST",
        "/accounts/dreamina",
        key,
        json={
            "email": f"{uuid.uuid4().hex[:8]}@example.com",
            "password": password,
            "region": region,
            "sessionid": uuid.uuid4().hex,
            "sessionid_expires_at": (datetime.now(UTC) + expires_in).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_refresh_due_goes_out_for_soon_expiring_credentials_of_accounts_that_can_renew(api: Api) -> None:
    _, key = api.new_user()
    kiro_soon = active_kiro(api, key, region="eu-west-1", expires_in=timedelta(minutes=5))
    kiro_later = active_kiro(api, key, region="us-east-1", expires_in=timedelta(hours=2))
    can_login_soon = _dreamina(api, key, region="us", password="pw", expires_in=timedelta(hours=3))
    cn_soon = _dreamina(api, key, region="cn", password="", expires_in=timedelta(hours=3))
    no_password_soon = _dreamina(api, key, region="jp", password="  ", expires_in=timedelta(hours=3))
    mine = {a["id"] for a in (kiro_soon, kiro_later, can_login_soon, cn_soon, no_password_soon)}

    tap = api.tap()
    try:
        sweeper = api.sweeper()
        api.client.portal.call(sweeper.sweep_once)
        seen = tap.wait_for(
            lambda events: (
                {e["data"]["account_id"] for e in events if e["type"] == "account.refresh_due"} & mine
                >= {kiro_soon["id"]}
            )
        )
        # A second pass soon after does not announce the same accounts again.
        assert api.client.portal.call(sweeper.sweep_once) == 0
    finally:
        tap.close()
    due = {e["data"]["account_id"] for e in seen if e["type"] == "account.refresh_due"} & mine
    assert due == {kiro_soon["id"], can_login_soon["id"]}


def test_only_one_sweeper_leads_and_another_takes_over_when_it_stops(api: Api) -> None:
    lock_id = uuid.uuid4().int % 2**62  # not the running service's own sweeper lock

    async def scenario() -> tuple[list[bool], list[bool]]:
        first, second = (api.sweeper(interval_s=0.05, lock_id=lock_id) for _ in range(2))
        try:
            await first.start()
            await asyncio.sleep(0.3)
            await second.start()
            await asyncio.sleep(0.3)
            both = [first.is_leader, second.is_leader]
            await asyncio.wait_for(first.stop(), 10)
            for _ in range(100):
                if second.is_leader:
                    break
                await asyncio.sleep(0.05)
            after = [second.is_leader]
        finally:  # never leave a sweeper running on the service's pool (its shutdown would wait)
            await asyncio.wait_for(asyncio.gather(first.stop(), second.stop()), 10)
        return both, after

    both, after = api.client.portal.call(scenario)
    assert both == [True, False]
    assert after == [True]
