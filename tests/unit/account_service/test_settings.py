"""account_service settings: the Dreamina schedule (daily revalidation time and zone), usage retention."""

from __future__ import annotations

from datetime import time

import pytest
from pydantic import ValidationError

from services.account_service.settings import AccountServiceSettings


def test_the_daily_check_is_off_unless_a_time_is_given(monkeypatch):
    monkeypatch.delenv("POOLGATE_DREAMINA_DAILY_CHECK", raising=False)
    assert AccountServiceSettings().dreamina_daily_check_time is None
    assert AccountServiceSettings(dreamina_daily_check="  ").dreamina_daily_check_time is None


def test_a_daily_check_time_and_zone_from_the_environment(monkeypatch):
    monkeypatch.setenv("POOLGATE_DREAMINA_DAILY_CHECK", "03:30")
    monkeypatch.setenv("POOLGATE_TIMEZONE", "Asia/Shanghai")
    settings = AccountServiceSettings()
    assert settings.dreamina_daily_check_time == time(3, 30)
    assert str(settings.zone) == "Asia/Shanghai"


@pytest.mark.parametrize("value", ["24:00", "3:30", "03:60", "noon", "03:30:00"])
def test_a_time_that_is_not_hh_mm_is_refused_naming_the_setting(value):
    with pytest.raises(ValidationError, match="POOLGATE_DREAMINA_DAILY_CHECK must be HH:MM"):
        AccountServiceSettings(dreamina_daily_check=value)


def test_an_unknown_zone_is_refused_naming_it():
    # The zone is the shared settings' day (shared/day_boundary.py), the same for every service.
    with pytest.raises(ValidationError, match=r"(?s)timezone.*unknown time zone 'Mars/Olympus'"):
        AccountServiceSettings(timezone="Mars/Olympus")


def test_usage_rollups_are_kept_400_days_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.delenv("POOLGATE_USAGE_RETENTION_DAYS", raising=False)
    assert AccountServiceSettings().usage_retention_days == 400
    monkeypatch.setenv("POOLGATE_USAGE_RETENTION_DAYS", "30")
    assert AccountServiceSettings().usage_retention_days == 30
    with pytest.raises(ValidationError, match="usage_retention_days"):
        AccountServiceSettings(usage_retention_days=0)
