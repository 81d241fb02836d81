"""Proxy settings (`POOLGATE_` prefix, shared base)."""

from __future__ import annotations

from shared.settings import BaseServiceSettings


class ProxySettings(BaseServiceSettings):
    # Upstream timeouts: TCP connect, until the response headers, and between two reads of the body.
    connect_timeout_s: float = 10.0
    first_byte_timeout_s: float = 120.0
    idle_timeout_s: float = 300.0
    # Upstream attempts per client call (each one a fresh allocation excluding the accounts tried).
    max_attempts: int = 4
    usage_buffer_size: int = 10_000
    usage_drain_timeout_s: float = 5.0
    # Many accounts share one host (api.openai.com, api.anthropic.com) and streams last long, so the
    # pool is bounded in total rather than per host (0 = no per-host limit).
    upstream_pool_limit: int = 1000
    upstream_pool_limit_per_host: int = 0
