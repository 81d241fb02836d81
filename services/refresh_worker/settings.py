from __future__ import annotations

from functools import lru_cache

from shared.settings import BaseServiceSettings


class RefreshWorkerSettings(BaseServiceSettings):
    prefetch: int = 16
    max_attempts: int = 5
    retry_delay_ms: int = 5000


@lru_cache
def get_settings() -> RefreshWorkerSettings:
    return RefreshWorkerSettings()
