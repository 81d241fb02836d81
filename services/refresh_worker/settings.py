from __future__ import annotations

from functools import lru_cache

from pydantic import Field, model_validator

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
    # What a Kiro account has left, read on its chat host after each refresh (kiro_usage.py);
    # `{api_region}` is the account's chat region. Empty: never read.
    kiro_usage_url: str = "https://q.{api_region}.amazonaws.com/getUsageLimits"
    kiro_usage_timeout_s: float = Field(default=10.0, gt=0)

    # One refresh per account at a time, across replicas (refresh tokens rotate). The lock outlives
    # the whole critical section: read credentials, the refresh call, and storing its result.
    refresh_lock_ttl_s: float = 90.0
    refresh_lock_wait_s: float = 30.0

    # Dreamina: sessionid liveness and credits are asked of the jimeng-api compatible server.
    jimeng_api_url: str = "http://127.0.0.1:5100"
    jimeng_timeout_s: float = Field(default=30.0, gt=0)
    # A loginable account is logged in again when its sessionid is dead, or expires within this.
    dreamina_relogin_before_s: float = Field(default=24 * 3600, ge=0)
    # After a login failed while the sessionid still lived, automatic triggers wait this long
    # before trying again (a person's refresh does not); the sweeper re-announces every 5 minutes.
    dreamina_login_retry_after_s: float = Field(default=6 * 3600, ge=0)
    # Dreamina triggers are handled by this many consumers per replica: a login takes tens of
    # seconds and must not hold up the revalidations (or the Kiro refreshes, on their own queue).
    dreamina_consumers: int = Field(default=4, ge=1)

    # Probes (services/refresh_worker/probes): each upstream call waits at most `probe_timeout_s`; a
    # Kiro account is probed with ListAvailableModels on its API region's host (`{api_region}`,
    # `{region}`: the token's region), as the proxy's POOLGATE_KIRO_CHAT_URL is.
    probe_timeout_s: float = Field(default=15.0, gt=0, le=120)
    kiro_models_url: str = "https://q.{api_region}.amazonaws.com/ListAvailableModels"
    probe_consumers: int = Field(default=2, ge=1)

    # The browser login (Playwright driving Debian's Chromium).
    browser_executable: str = "/usr/bin/chromium"
    dreamina_login_url: str = "https://dreamina.capcut.com/ai-tool/home"
    # Browsers at once across every replica (a Redis semaphore whose slots expire with a crashed
    # worker), and how long a login waits for a slot before it is tried again later.
    login_concurrency: int = Field(default=2, ge=1)
    login_slot_wait_s: float = Field(default=300.0, gt=0)
    # One try: the page load, each expected element, the wait for the sessionid cookie after
    # "Continue", and the whole try. Timeouts are tried three times, `login_backoff_s` then twice that apart.
    login_page_timeout_s: float = Field(default=60.0, gt=0)
    login_step_timeout_s: float = Field(default=15.0, gt=0)
    login_cookie_wait_s: float = Field(default=60.0, gt=0)
    login_timeout_s: float = Field(default=180.0, gt=0)
    login_backoff_s: float = Field(default=2.0, ge=0)

    @property
    def dreamina_lock_ttl_s(self) -> float:
        """One Dreamina account's lock outlives its whole critical section: a wait for a browser
        slot and three login tries with their backoff, plus the calls around them."""
        tries = 3 * (self.login_slot_wait_s + self.login_timeout_s) + 3 * self.login_backoff_s
        return tries + 4 * self.jimeng_timeout_s + 60

    @model_validator(mode="after")
    def _lock_outlives_the_refresh(self) -> RefreshWorkerSettings:
        if self.refresh_lock_ttl_s <= 2 * self.kiro_refresh_timeout_s:
            raise ValueError("refresh_lock_ttl_s must be more than twice kiro_refresh_timeout_s")
        return self


@lru_cache
def get_settings() -> RefreshWorkerSettings:
    return RefreshWorkerSettings()
