"""The environment variable names the services read: their pydantic settings classes' fields."""

from __future__ import annotations

from functools import cache

from services.account_service.settings import AccountServiceSettings
from services.proxy_service.settings import ProxySettings
from services.refresh_worker.settings import RefreshWorkerSettings


@cache
def known_env_names() -> frozenset[str]:
    names = set()
    for settings in (ProxySettings, AccountServiceSettings, RefreshWorkerSettings):
        prefix = settings.model_config.get("env_prefix", "")
        names.update(f"{prefix}{field}".upper() for field in settings.model_fields)
    return frozenset(names)
