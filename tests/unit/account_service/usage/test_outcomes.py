"""When an exhausted account comes back: the upstream's Retry-After, Kiro's monthly reset, or the next
configured day."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.account_service.accounts.schemas import Account
from services.account_service.usage.outcomes import exhausted_until
from shared.day_boundary import DayBoundary

NOW = datetime(2026, 3, 1, 10, 15, tzinfo=UTC)


def _account(kind: str) -> Account:
    return Account(
        id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        kind=kind,
        name="n",
        visibility="private",
        status="active",
        status_reason=None,
        status_changed_at=NOW,
        weight=100,
        max_concurrency=4,
        settings={},
        secrets="<encrypted>",
        success_count=0,
        fail_count=0,
        last_used_at=None,
        created_at=NOW,
        updated_at=NOW,
    )


def test_retry_after_wins():
    until = exhausted_until(_account("dreamina"), retry_after=90, now=NOW, days=DayBoundary())
    assert until == NOW + timedelta(seconds=90)


def test_kiro_waits_for_the_first_of_next_month():
    assert exhausted_until(_account("kiro"), retry_after=None, now=NOW, days=DayBoundary()) == datetime(
        2026, 4, 1, tzinfo=UTC
    )


def test_others_wait_for_the_next_configured_day():
    utc = DayBoundary()
    assert exhausted_until(_account("dreamina"), retry_after=None, now=NOW, days=utc) == datetime(
        2026, 3, 2, tzinfo=UTC
    )
    beijing_8am = DayBoundary(timezone=ZoneInfo("Asia/Shanghai"), starts_at=time(8))
    # 10:15 UTC is 18:15 in Beijing: the next 08:00 there is 00:00 UTC on 2 March.
    assert exhausted_until(_account("custom_api"), retry_after=None, now=NOW, days=beijing_8am) == datetime(
        2026, 3, 2, tzinfo=UTC
    )
    beijing = DayBoundary(timezone=ZoneInfo("Asia/Shanghai"))
    assert exhausted_until(_account("dreamina"), retry_after=None, now=NOW, days=beijing) == datetime(
        2026, 3, 1, 16, tzinfo=UTC
    )
