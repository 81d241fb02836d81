from __future__ import annotations

from functools import lru_cache

from pydantic import model_validator

from shared.settings import BaseServiceSettings


class RefreshWorkerSettings(BaseServiceSettings):
    prefetch: int = 16
    # The broker's durable retry path: a transient failure waits `retry_delay_ms` in the retry queue,
    # and after `max_attempts` the message is dead-lettered with a final `account.refresh_failed`.
    max_attempts: int = 5
    retry_delay_ms: int = 5000

    # Kiro auth hosts; `{region}` is always the token's own region.
    kiro_social_refresh_url: str = "https://prod.{region}.auth.desktop.kiro.dev/refreshToken"
    kiro_idc_refresh_url: str = "https://oidc.{region}.amazonaws.com/token"
    kiro_refresh_timeout_s: float = 15.0

    # One refresh per account at a time, across replicas (refresh tokens rotate). The lock outlives
    # the whole critical section: read credentials, the refresh call, and storing its result.
    refresh_lock_ttl_s: float = 90.0
    refresh_lock_wait_s: float = 30.0

    @model_validator(mode="after")
    def _lock_outlives_the_refresh(self) -> RefreshWorkerSettings:
        if self.refresh_lock_ttl_s <= 2 * self.kiro_refresh_timeout_s:
            raise ValueError("refresh_lock_ttl_s must be more than twice kiro_refresh_timeout_s")
        return self


@lru_cache
def get_settings() -> RefreshWorkerSettings:
    return RefreshWorkerSettings()
