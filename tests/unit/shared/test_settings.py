import pytest
from pydantic import ValidationError

from shared.crypto import generate_key
from shared.settings import BaseServiceSettings


def test_development_accepts_the_placeholder_defaults(monkeypatch):
    monkeypatch.delenv("POOLGATE_ENV", raising=False)
    assert BaseServiceSettings().env == "development"


def test_production_refuses_placeholder_secrets(monkeypatch):
    monkeypatch.setenv("POOLGATE_ENV", "production")
    monkeypatch.delenv("POOLGATE_SECRET_KEYS", raising=False)
    with pytest.raises(ValidationError, match="POOLGATE_SECRET_KEYS"):
        BaseServiceSettings()
    monkeypatch.setenv("POOLGATE_SECRET_KEYS", generate_key())
    monkeypatch.setenv("POOLGATE_SERVICE_TOKEN", "change-me")
    with pytest.raises(ValidationError, match="POOLGATE_SERVICE_TOKEN"):
        BaseServiceSettings()


def test_production_starts_with_real_secrets(monkeypatch):
    monkeypatch.setenv("POOLGATE_ENV", "production")
    monkeypatch.setenv("POOLGATE_SECRET_KEYS", f"{generate_key()},{generate_key()}")
    monkeypatch.setenv("POOLGATE_SERVICE_TOKEN", "a-long-random-token-0f9e8d7c")
    settings = BaseServiceSettings()
    assert settings.redis_key("alloc", "x") == "poolgate:alloc:x"


def test_worker_counts_default_to_half_the_cores_and_follow_the_environment(monkeypatch):
    monkeypatch.delenv("POOLGATE_PROXY_WORKERS", raising=False)
    monkeypatch.delenv("POOLGATE_ACCOUNT_SERVICE_WORKERS", raising=False)
    monkeypatch.setattr("shared.settings.available_cores", lambda: 8)
    assert (BaseServiceSettings().proxy_workers, BaseServiceSettings().account_service_workers) == (4, 4)
    monkeypatch.setattr("shared.settings.available_cores", lambda: 1)
    assert BaseServiceSettings().proxy_workers == 1
    monkeypatch.setenv("POOLGATE_PROXY_WORKERS", "3")
    monkeypatch.setenv("POOLGATE_ACCOUNT_SERVICE_WORKERS", "2")
    settings = BaseServiceSettings()
    assert (settings.proxy_workers, settings.account_service_workers) == (3, 2)
    monkeypatch.setenv("POOLGATE_PROXY_WORKERS", "0")
    with pytest.raises(ValidationError):
        BaseServiceSettings()
