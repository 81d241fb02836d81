from __future__ import annotations

import re
from datetime import time
from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from services.account_service.keys.limits import LimitDefaults
from shared.day_boundary import zone
from shared.settings import BaseServiceSettings

_HH_MM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class AccountServiceSettings(BaseServiceSettings):
    public_pool: bool = False
    # A crashed proxy's slots come free after this; a running attempt's lease is renewed by its proxy.
    lease_ttl_s: float = 60.0
    db_pool_size: int = 10
    migrate_on_start: bool = True
    sweep_interval_s: float = 30.0
    # Accounts a long action (refresh all, ...) works through per transaction.
    job_chunk_size: int = Field(default=100, ge=1, le=10000)
    # The time of day (`HH:MM` in POOLGATE_TIMEZONE, the shared settings' day) at which every
    # Dreamina account's sessionid is revalidated once a day; empty: never (only the 24-hour expiry
    # window and the triggers apply).
    dreamina_daily_check: str | None = None
    # The web console (services/account_service/console): a session ends after this long without a
    # page view; after `sign_in_max_failures` wrong passwords in a row a user is locked out for
    # `sign_in_lockout_s`, doubling with each further failure (capped at a day).
    console_session_idle_h: float = Field(default=12.0, gt=0)
    sign_in_max_failures: int = Field(default=5, ge=1)
    sign_in_lockout_s: float = Field(default=60.0, ge=0)
    # Alerts by webhook (services/account_service/webhooks): each POST waits at most
    # `webhook_timeout_s`; a failed one is tried again after `webhook_backoff_base_s`, doubling per
    # attempt up to `webhook_backoff_max_s`, until `webhook_max_attempts`. `pool.unavailable` is
    # announced at most once per user and model per `pool_unavailable_window_s`.
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_backoff_base_s: float = Field(default=30.0, gt=0)
    webhook_backoff_max_s: float = Field(default=6 * 3600.0, gt=0)
    webhook_poll_s: float = Field(default=5.0, gt=0)
    webhook_log_days: float = Field(default=30.0, gt=0)  # finished deliveries are kept this long
    pool_unavailable_window_s: float = Field(default=300.0, ge=0)
    # Limits for API keys that set none of their own (keys/limits.py); unset or empty: no limit.
    key_default_rpm: int | None = Field(default=None, ge=1)
    key_default_concurrency: int | None = Field(default=None, ge=1)
    key_default_tokens_per_day: int | None = Field(default=None, ge=1)

    @field_validator(
        "key_default_rpm", "key_default_concurrency", "key_default_tokens_per_day", mode="before"
    )
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    # Sticky sessions (allocation/sticky.py): how long a conversation's binding to an account lasts
    # after its last call, in seconds; 0 turns sticky sessions off.
    sticky_ttl_s: float = Field(default=3600.0, ge=0)
    # Quota-aware routing (allocation/quota.py): accounts are drawn by weight × the share of quota
    # they have left (at least 5%); one projected to run out before its reset is spared: drawn only
    # when every other account that could serve the call is cooling down or full.
    quota_routing: bool = True
    # Egress proxies (services/account_service/proxies): a test fetches this URL through the proxy,
    # which must answer JSON with the exit `ip` and `country` (ipinfo.io's shape), within the timeout.
    proxy_echo_url: str = "https://ipinfo.io/json"
    proxy_test_timeout_s: float = Field(default=10.0, gt=0, le=120)

    # Hourly usage rollups (usage_hourly) older than this are deleted by the sweeper.
    usage_retention_days: int = Field(default=400, ge=1, le=36500)
    # Probes (services/account_service/probes): the results kept per account, and how many due
    # probes one sweeper pass announces at most (the rest are announced by the next pass).
    probe_results_kept: int = Field(default=20, ge=1, le=1000)
    probes_per_pass: int = Field(default=200, ge=1, le=10000)

    @field_validator("dreamina_daily_check")
    @classmethod
    def _hh_mm(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and not _HH_MM.fullmatch(value):
            raise ValueError("POOLGATE_DREAMINA_DAILY_CHECK must be HH:MM (00:00 to 23:59) or empty")
        return value

    @property
    def key_limit_defaults(self) -> LimitDefaults:
        return LimitDefaults(
            requests_per_minute=self.key_default_rpm,
            concurrency=self.key_default_concurrency,
            tokens_per_day=self.key_default_tokens_per_day,
        )

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.timezone)

    @property
    def dreamina_daily_check_time(self) -> time | None:
        return time.fromisoformat(self.dreamina_daily_check) if self.dreamina_daily_check else None


@lru_cache
def get_settings() -> AccountServiceSettings:
    return AccountServiceSettings()
