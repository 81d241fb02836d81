"""The sweeper's optional daily revalidation of every Dreamina account in the pool."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.integration.account_service._api import Api
from tests.integration.account_service.test_allocation import active_kiro

DAY = datetime(2026, 3, 10, tzinfo=UTC)


def _dreamina(api: Api, key: str, *, region: str, password: str) -> dict:
    answer = api.call(
        "POST",
        "/accounts/dreamina",
        key,
        json={
            "email": f"{uuid.uuid4().hex[:8]}@example.com",
            "password": password,
            "region": region,
            "sessionid": uuid.uuid4().hex,
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_every_dreamina_account_in_the_pool_is_announced_once_a_day_from_its_time(api: Api) -> None:
    _, key = api.new_user()
    accounts = [
        _dreamina(api, key, region="us", password="pw"),
        _dreamina(api, key, region="cn", password=""),
        _dreamina(api, key, region="jp", password="  "),
    ]
    disabled = _dreamina(api, key, region="hk", password="pw")
    assert api.call("POST", f"/accounts/{disabled['id']}/disable", key).status_code == 200
    kiro = active_kiro(api, key, region="us-east-1")
    mine = {a["id"] for a in [*accounts, disabled, kiro]}
    sweeper = api.sweeper(daily_check=time(3, 30))
    run = api.client.portal.call

    tap = api.tap()
    try:
        assert run(sweeper.revalidate_daily, DAY.replace(hour=3, minute=29)) == 0, "not yet"
        assert run(sweeper.revalidate_daily, DAY.replace(hour=3, minute=30)) >= 3
        seen = tap.wait_for(lambda events: _due(events) & mine >= {a["id"] for a in accounts})
        assert run(sweeper.revalidate_daily, DAY.replace(hour=23)) == 0, "once a day"
        assert run(sweeper.revalidate_daily, DAY + timedelta(days=1, hours=4)) >= 3, "and again the next day"
    finally:
        tap.close()
    assert _due(seen) & mine == {a["id"] for a in accounts}, "not the disabled one, nor Kiro"
    announced = [e for e in seen if e["type"] == "account.refresh_due" and e["data"]["account_id"] in mine]
    assert all(e["data"]["kind"] == "dreamina" and e["data"]["expires_at"] for e in announced)


def _due(events: list[dict]) -> set[str]:
    return {e["data"]["account_id"] for e in events if e["type"] == "account.refresh_due"}


def test_the_time_of_day_is_read_in_the_configured_zone(api: Api) -> None:
    shanghai = api.sweeper(daily_check=time(8, 0), zone=ZoneInfo("Asia/Shanghai"))
    run = api.client.portal.call
    # 23:59 UTC is 07:59 the next morning in Shanghai: not yet; 00:00 UTC is 08:00 there.
    assert run(shanghai.revalidate_daily, DAY.replace(hour=23, minute=59)) == 0
    _, key = api.new_user()
    _dreamina(api, key, region="us", password="pw")
    assert run(shanghai.revalidate_daily, DAY + timedelta(days=1)) >= 1


def test_without_a_time_there_is_no_daily_revalidation(api: Api) -> None:
    _, key = api.new_user()
    _dreamina(api, key, region="us", password="pw")
    assert api.client.portal.call(api.sweeper().revalidate_daily, DAY.replace(hour=12)) == 0
