"""Proxy settings (`POOLGATE_` prefix, shared base)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from shared.settings import BaseServiceSettings


class ProxySettings(BaseServiceSettings):
    # Kiro's chat host (kiro.md §1.7: the host is disputed, so it is a template): `{api_region}` is
    # the account's API region (default us-east-1), `{region}` its token's region.
    kiro_chat_url: str = "https://q.{api_region}.amazonaws.com/generateAssistantResponse"
    # The jimeng-api server Dreamina accounts call (reference/dreamina.md §8), unless an account names
    # its own `api_base`. The operator's own server may be on the private network: it is not held to
    # the SSRF guard, which still applies to every account's own api_base.
    jimeng_api_url: str = "http://127.0.0.1:5100"
    # Upstream timeouts: TCP connect, until the response headers, and between two reads of the body.
    connect_timeout_s: float = 10.0
    first_byte_timeout_s: float = 120.0
    idle_timeout_s: float = 300.0
    # Image and video generations answer only when done (minutes): their own first-byte limit.
    media_first_byte_timeout_s: float = Field(default=900.0, gt=0)
    # OpenAI image calls whose model is empty or `gpt*`: the jimeng model for each `quality`
    # (reference/dreamina.md §1.7; `auto` is also used for a missing or unknown quality).
    image_model_low: str = "jimeng-4.0"
    image_model_medium: str = "jimeng-4.6"
    image_model_high: str = "jimeng-5.0"
    image_model_auto: str = "jimeng-4.6"
    # Upstream attempts per client call (each one a fresh allocation excluding the accounts tried),
    # counted again after each backoff wait.
    max_attempts: int = 4
    # When allocation has no other account left after a passing failure (connect error, timeout, 429,
    # 5xx), the accounts tried are tried again after a wait: the upstream's Retry-After, else the
    # allocation's, else retry_backoff_s doubling (5, 10, 20 s); each wait at most max_retry_wait_s.
    same_account_retries: int = 3
    retry_backoff_s: float = 5.0
    max_retry_wait_s: float = 60.0
    # Streams: when no upstream has sent its headers this long after the call (failover and backoff
    # waits included), the client gets a 200 event stream and a keep-alive every ping_interval_s.
    ping_after_s: float = 5.0
    ping_interval_s: float = 10.0
    # Running attempts renew their allocation leases this often (account_service's lease TTL is
    # about a minute, so a crashed proxy's slots come free within it).
    lease_renew_s: float = 20.0
    # While account_service cannot be connected to (a restart, a rolling deploy), a client call waits
    # up to this long for it before answering 503: a restart of a few seconds costs no call.
    account_service_wait_s: float = 10.0
    # Allocations, lease releases and model lists go to account_service over the allocation channel
    # (shared/channel.py), on its HTTP port; false: over plain HTTP, for a path to account_service
    # that carries only HTTP (a layer-7 proxy in between). An https:// URL implies false.
    allocation_channel: bool = True
    # Graceful shutdown (drain.py): on SIGTERM, /readyz fails but calls are still taken for the grace
    # (so a load balancer notices), then running calls and streams have the drain timeout to finish
    # before the ones left end with an error their SDK raises. Kubernetes' terminationGracePeriodSeconds
    # must exceed their sum plus a few seconds (deploy/k8s/proxy-service.yaml).
    proxy_shutdown_grace_s: float = Field(default=5.0, ge=0)
    proxy_drain_timeout_s: float = Field(default=30.0, ge=0)
    usage_buffer_size: int = 10_000
    usage_drain_timeout_s: float = 5.0
    # Many accounts share one host (api.openai.com, api.anthropic.com) and streams last long, so the
    # pool is bounded in total rather than per host (0 = no per-host limit).
    upstream_pool_limit: int = 1000
    upstream_pool_limit_per_host: int = 0
    # Hostile or broken clients (see body_guard.py; the header deadline is shared settings'): a body
    # over max_body_bytes is refused with 413; one that sends nothing of its body for
    # client_body_timeout_s gets a 408.
    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    client_body_timeout_s: float = Field(default=30.0, gt=0)
    # Browser origins allowed to call the proxy (CORS), comma-separated or a JSON list. Empty (the
    # default): no CORS at all, which is what the SDKs and CLIs need.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            return orjson.loads(value)
        return [origin.strip() for origin in value.split(",") if origin.strip()]
