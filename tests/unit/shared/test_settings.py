import random
import string

import pytest
from pydantic import ValidationError

from services.account_service.settings import AccountServiceSettings
from services.proxy_service.settings import ProxySettings
from services.refresh_worker.settings import RefreshWorkerSettings
from shared.crypto import generate_key
from shared.secret_rules import secret_problem, url_problem
from shared.settings import DEV_SECRET_KEY, DEV_SERVICE_TOKEN, BaseServiceSettings

REAL_TOKEN = "Qm9vbGdhdGUtcHJvZC10b2tlbi1mb3ItdGVzdHMhIQ"


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
    monkeypatch.setenv("POOLGATE_SERVICE_TOKEN", REAL_TOKEN)
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


def _production(monkeypatch, **env: str) -> None:
    monkeypatch.setenv("POOLGATE_ENV", "production")
    monkeypatch.setenv("POOLGATE_SECRET_KEYS", generate_key())
    monkeypatch.setenv("POOLGATE_SERVICE_TOKEN", REAL_TOKEN)
    for name, value in env.items():
        monkeypatch.setenv(f"POOLGATE_{name}", value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("REPLACE_ME_SERVICE_TOKEN", "placeholder"),
        ("replace-me-with-a-long-random-value-0123456789", "placeholder"),
        ("CHANGE_ME_0123456789abcdefghijklmnopqrstuvwxyz", "placeholder"),
        ("changeme-0123456789abcdefghijklmnopqrstuvwxyz", "placeholder"),
        ("ChangeMe0123456789abcdefghijklmnopqrstuvwxyz", "placeholder"),
        ("an-example-token-0123456789abcdefghijklmnopqrst", "placeholder"),
        ("PLACEHOLDER-0123456789abcdefghijklmnopqrstuvwxyz", "placeholder"),
        ("sk-xxxx-0123456789abcdefghijklmnopqrstuvwxyz", "placeholder"),
        ("XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "placeholder"),
        ("a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p", "shorter than 32"),
        ("", "shorter than 32"),
        (" " + REAL_TOKEN, "whitespace"),
        (REAL_TOKEN + "\n", "whitespace"),
        ("abababababababababababababababababab", "fewer than 8 distinct"),
        ("1234567123456712345671234567123456712345", "fewer than 8 distinct"),
        (DEV_SERVICE_TOKEN, "development default"),
        (DEV_SECRET_KEY, "development default"),
    ],
)
def test_each_rule_refuses_a_weak_secret(value, reason):
    problem = secret_problem(value, known=frozenset({DEV_SERVICE_TOKEN, DEV_SECRET_KEY}))
    assert problem is not None and reason in problem


_URLSAFE = string.ascii_letters + string.digits + "-_"
_SEEDED = random.Random(20261204)


@pytest.mark.parametrize(
    "value",
    [REAL_TOKEN, generate_key(), *("".join(_SEEDED.choices(_URLSAFE, k=43)) for _ in range(200))],
)
def test_random_secrets_pass_every_rule(value):
    assert secret_problem(value) is None


@pytest.mark.parametrize(
    ("url", "bad"),
    [
        ("postgresql://REPLACE_ME_USER:REPLACE_ME_PASSWORD@REPLACE_ME_POSTGRES_HOST:5432/poolgate", True),
        ("redis://:REPLACE_ME_PASSWORD@redis:6379/0", True),
        ("amqp://poolgate:changeme@rabbitmq:5672/", True),
        ("amqp://poolgate:xxxx@rabbitmq:5672/", True),
        ("postgresql://app:CHANGE%5FME@db:5432/poolgate", True),  # percent-encoded
        ("postgresql://poolgate:poolgate@postgres:5432/poolgate", False),  # compose's default
        ("postgresql://app:s3cr3t@db.example.com:5432/poolgate", False),  # a real host name
        ("redis://127.0.0.1:6379/0", False),
    ],
)
def test_connection_urls_with_template_values_are_refused(url, bad):
    assert (url_problem(url) is not None) is bad


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("SERVICE_TOKEN", "REPLACE_ME_SERVICE_TOKEN", "POOLGATE_SERVICE_TOKEN"),
        ("SERVICE_TOKEN", "short-but-secret-7f3a", "POOLGATE_SERVICE_TOKEN"),
        ("SECRET_KEYS", "REPLACE_ME_FERNET_KEY", "POOLGATE_SECRET_KEYS"),
        ("SECRET_KEYS", f"{generate_key()},tiny-secret-key-9q", "POOLGATE_SECRET_KEYS key 2"),
        ("SECRET_KEYS", f"{generate_key()}\n", "POOLGATE_SECRET_KEYS"),
        ("DATABASE_URL", "postgresql://u:REPLACE_ME_PASSWORD_71@db:5432/p", "POOLGATE_DATABASE_URL"),
        ("REDIS_URL", "redis://:REPLACE_ME_REDIS_PW_71@redis:6379/0", "POOLGATE_REDIS_URL"),
        ("AMQP_URL", "amqp://u:REPLACE_ME_AMQP_PW_71@mq:5672/", "POOLGATE_AMQP_URL"),
    ],
)
@pytest.mark.parametrize("settings_class", [AccountServiceSettings, ProxySettings, RefreshWorkerSettings])
def test_production_names_the_refused_setting_and_never_shows_its_value(
    monkeypatch, settings_class, setting, value, named
):
    _production(monkeypatch, **{setting: value})
    with pytest.raises(ValidationError) as refused:
        settings_class()
    text = str(refused.value)
    assert named in text
    for shown in (value.strip(), value.strip().split(",")[-1], REAL_TOKEN):
        assert shown not in text
    assert "REPLACE_ME_" not in text


def test_a_settings_error_of_any_kind_hides_its_input(monkeypatch):
    monkeypatch.setenv("POOLGATE_SERVICE_TOKEN", REAL_TOKEN)
    monkeypatch.setenv("POOLGATE_PROXY_WORKERS", "not-a-number-7f3a")
    with pytest.raises(ValidationError) as refused:
        BaseServiceSettings()
    assert "not-a-number-7f3a" not in str(refused.value) and REAL_TOKEN not in str(refused.value)


@pytest.mark.parametrize("env", ["development", "test"])
def test_outside_production_the_development_defaults_still_work(monkeypatch, env):
    monkeypatch.setenv("POOLGATE_ENV", env)
    for name in ("SECRET_KEYS", "SERVICE_TOKEN", "DATABASE_URL", "REDIS_URL", "AMQP_URL"):
        monkeypatch.delenv(f"POOLGATE_{name}", raising=False)
    for settings_class in (AccountServiceSettings, ProxySettings, RefreshWorkerSettings):
        settings = settings_class()
        assert settings.development_service_token
        assert settings.service_token.get_secret_value() == DEV_SERVICE_TOKEN
