from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from shared.settings import BaseServiceSettings


class AccountServiceSettings(BaseServiceSettings):
    public_pool: bool = False
    # A crashed proxy's slots come free after this; a running attempt's lease is renewed by its proxy.
    lease_ttl_s: float = 60.0
    db_pool_size: int = 10
    migrate_on_start: bool = True
    sweep_interval_s: float = 30.0
    # Accounts a long action (refresh all, ...) works through per transaction.
    job_chunk_size: int = Field(default=100, ge=1, le=10000)


@lru_cache
def get_settings() -> AccountServiceSettings:
    return AccountServiceSettings()
