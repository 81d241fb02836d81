"""The refresh worker's Dreamina settings."""

from __future__ import annotations

from services.refresh_worker.settings import RefreshWorkerSettings


def test_the_browser_defaults_are_debians_chromium_and_the_real_login_page(monkeypatch):
    for name in ("POOLGATE_BROWSER_EXECUTABLE", "POOLGATE_DREAMINA_LOGIN_URL", "POOLGATE_LOGIN_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    settings = RefreshWorkerSettings()
    assert settings.browser_executable == "/usr/bin/chromium"
    assert settings.dreamina_login_url == "https://dreamina.capcut.com/ai-tool/home"
    assert settings.login_concurrency == 2


def test_an_accounts_lock_outlives_three_login_tries_with_their_slot_waits():
    settings = RefreshWorkerSettings(login_slot_wait_s=100, login_timeout_s=50, login_backoff_s=2)
    assert settings.dreamina_lock_ttl_s > 3 * (100 + 50) + 2 + 4
