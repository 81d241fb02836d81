"""Settings base shared by every service (pydantic-settings, `POOLGATE_` prefix)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, time
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.day_boundary import DayBoundary, utcnow, zone
from shared.secret_rules import GENERATE_HINT, secret_problem, url_problem

if TYPE_CHECKING:
    from redis.asyncio import Redis

# Development defaults: usable on a laptop, refused in production.
DEV_SECRET_KEY = "cG9vbGdhdGUtZGV2ZWxvcG1lbnQta2V5LTAwMDAwMDA="
DEV_SERVICE_TOKEN = "poolgate-dev-service-token"
PLACEHOLDERS = frozenset({DEV_SECRET_KEY, DEV_SERVICE_TOKEN})

# Settings whose values are connection URLs that may carry a password.
_URL_SETTINGS = ("database_url", "redis_url", "amqp_url")


class PlaceholderSecretError(ValueError):
    pass


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity (which a container's cpuset narrows), or
    `os.cpu_count()` where affinity is unknown. A CPU quota (Kubernetes `limits.cpu`) is not visible
    here, so deployments with one set the worker counts explicitly."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_workers() -> int:
    """Half the cores, at least one. proxy_service and account_service run on the same machine in
    `poolgate up` and compose and cost about as much CPU per call each (bench/), so each gets half.
    Measured on 2 cores: 2 workers each used 10-15% more CPU per request than 1 and served no more."""
    return max(1, available_cores() // 2)


class BaseServiceSettings(BaseSettings):
    # hide_input_in_errors: a refused setting's error must never print the value (or, from a
    # model validator, every other setting's value with it).
    model_config = SettingsConfigDict(
        env_prefix="POOLGATE_", env_file=None, extra="ignore", hide_input_in_errors=True
    )

    env: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    log_json: bool = True

    database_url: str = "postgresql://postgres@127.0.0.1:5432/poolgate"
    redis_url: str = "redis://127.0.0.1:6379/0"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"

    # Names are settings so that test runs (and several deployments on one broker) stay isolated.
    events_exchange: str = "poolgate.events"
    queue_prefix: str = "poolgate"
    redis_prefix: str = "poolgate"
    # A Redis that does not answer within these is treated as down (allocation falls back to
    # in-process state; see services/account_service/allocation/fallback.py) rather than waited for.
    redis_connect_timeout_s: float = Field(default=1.0, gt=0)
    redis_timeout_s: float = Field(default=2.0, gt=0)
    # On SIGTERM a consumer stops taking messages and waits this long for the ones it holds to be
    # handled and acked (shared/messages/broker.py); any left are redelivered to another replica.
    consumer_drain_timeout_s: float = Field(default=30.0, ge=0)

    secret_keys: SecretStr = SecretStr(DEV_SECRET_KEY)
    service_token: SecretStr = SecretStr(DEV_SERVICE_TOKEN)

    host: str = "127.0.0.1"
    proxy_port: int = 8000
    account_service_port: int = 8001
    refresh_worker_port: int = 8002
    account_service_url: str = "http://127.0.0.1:8001"
    # The TLS proxies in front of account_service (the console), comma-separated addresses or
    # networks, `*` for any: their X-Forwarded-Proto says whether the browser came over https (the
    # session cookie is then `Secure`) and X-Forwarded-For who the client is. Empty: trust none.
    forwarded_allow_ips: str = "127.0.0.1"
    # A client that has not finished its request headers this long after it began them is
    # disconnected (shared/http_protocol.py): the proxy and account_service (management API) face
    # clients; uvicorn alone would wait forever.
    client_header_timeout_s: float = Field(default=30.0, gt=0)
    # Worker processes per service (`POOLGATE_PROXY_WORKERS`, `POOLGATE_ACCOUNT_SERVICE_WORKERS`): each
    # one accepts on the same port and runs its own lifespan, like a replica.
    proxy_workers: int = Field(default_factory=default_workers, ge=1)
    account_service_workers: int = Field(default_factory=default_workers, ge=1)
    # Upstream URLs on private or loopback networks are refused unless this is set (see netguard).
    allow_private_upstreams: bool = False
    # The day daily things count in (today's calls, `exhausted` until the daily reset, the daily
    # revalidation): it begins at `day_starts_at` (HH:MM) local time in `timezone` (shared/day_boundary.py).
    timezone: str = "UTC"
    day_starts_at: time = time(0)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("day_starts_at")
    @classmethod
    def _local_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("day_starts_at is a local time (HH:MM) in POOLGATE_TIMEZONE, without an offset")
        return value

    @model_validator(mode="after")
    def _no_placeholders_in_production(self) -> BaseServiceSettings:
        """In production every secret must be real: each problem is named by its setting, never shown."""
        if self.env != "production":
            return self
        problems = []
        keys = self.secret_keys.get_secret_value()
        pieces = [k.strip() for k in keys.split(",") if k.strip()]
        if keys != keys.strip():
            problems.append("POOLGATE_SECRET_KEYS has leading or trailing whitespace")
        elif not pieces:
            problems.append("POOLGATE_SECRET_KEYS is empty")
        for number, key in enumerate(pieces, start=1):
            problem = secret_problem(key, known=PLACEHOLDERS)
            if problem:
                problems.append(f"POOLGATE_SECRET_KEYS key {number} {problem}; set real Fernet keys")
        problem = secret_problem(self.service_token.get_secret_value(), known=PLACEHOLDERS)
        if problem:
            problems.append(f"POOLGATE_SERVICE_TOKEN {problem}; {GENERATE_HINT}")
        for name in _URL_SETTINGS:
            problem = url_problem(getattr(self, name))
            if problem:
                problems.append(f"POOLGATE_{name.upper()} {problem}")
        if problems:
            raise PlaceholderSecretError("production settings refused: " + "; ".join(problems))
        return self

    @property
    def development_service_token(self) -> bool:
        """Whether the internal API is protected only by the published development token."""
        return self.service_token.get_secret_value() == DEV_SERVICE_TOKEN

    def redis(self) -> Redis:
        """A client for `redis_url` that gives up on an unreachable Redis quickly (one retry)."""
        from redis.asyncio import Redis  # imported here: the CLI reads settings without needing it
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        return Redis.from_url(
            self.redis_url,
            socket_connect_timeout=self.redis_connect_timeout_s,
            socket_timeout=self.redis_timeout_s,
            retry=Retry(NoBackoff(), retries=1),
        )

    def day_boundary(self, clock: Callable[[], datetime] = utcnow) -> DayBoundary:
        return DayBoundary(timezone=zone(self.timezone), starts_at=self.day_starts_at, clock=clock)

    def redis_key(self, *parts: str) -> str:
        return ":".join((self.redis_prefix, *parts))
