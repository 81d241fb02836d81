"""How an account is shown: every secret masked, the Dreamina sessionid as the upstream will see it."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.account_service.accounts import rules
from services.account_service.accounts.schemas import Account, AccountOut, CallsToday, LastCheck, QuotaOut
from services.account_service.accounts.schemas._views import EgressProxyRef
from services.account_service.allocation import quota
from shared.crypto import mask
from shared.egress import shown_url

# Below this length the first four characters are most of the secret, so nothing of it is shown.
_SHORTEST_PARTLY_SHOWN = 12
_SHOWN = {
    "kiro": ("refresh_token", "client_id", "client_secret", "access_token"),
    "custom_api": ("api_key",),
    "dreamina": ("sessionid",),
}


def masked(secret: str | None) -> str | None:
    if not secret:
        return None
    return mask(secret) if len(secret) >= _SHORTEST_PARTLY_SHOWN else "****"


def masked_secrets(account: Account, secrets: dict[str, Any]) -> dict[str, str | None]:
    shown = {name: secrets.get(name) for name in _SHOWN[account.kind]}
    if account.kind == "dreamina":
        if shown["sessionid"]:
            shown["sessionid"] = rules.upstream_sessionid(account.region or "cn", shown["sessionid"])
        # A password is never shown, not even its start; only whether there is one.
        return {
            "password": "****" if secrets.get("password") else None,
            "sessionid": masked(shown["sessionid"]),
        }
    return {name: masked(value) for name, value in shown.items()}


def chat_region(account: Account) -> tuple[str | None, rules.ChatRegionSource | None]:
    """kiro: the region of the chat host its calls go to, and where that region came from."""
    if account.kind != "kiro":
        return None, None
    return rules.kiro_chat_region(account.settings.get("api_region"), account.settings.get("profile_arn"))


def calls_today(account: Account, today: date) -> CallsToday:
    """The stored count is today's only if it was counted today; an older day's shows as none yet."""
    if account.calls_day != today:
        return CallsToday(day=today, total=0, ok=0)
    return CallsToday(day=today, total=account.calls_today, ok=account.calls_today_ok)


def last_check(account: Account) -> LastCheck | None:
    if account.last_check_at is None or account.last_check_ok is None:
        return None
    return LastCheck(
        at=account.last_check_at,
        ok=account.last_check_ok,
        kind=account.last_check_kind,
        reason=account.last_check_reason,
    )


def egress_ref(proxy: dict[str, Any] | None) -> EgressProxyRef | None:
    if proxy is None:
        return None
    url = shown_url(
        proxy["scheme"], proxy["host"], proxy["port"], proxy.get("username"), bool(proxy.get("password"))
    )
    return EgressProxyRef(
        id=proxy["id"],
        name=proxy["name"],
        url=url,
        healthy=proxy.get("healthy"),
        last_error=proxy.get("last_error"),
    )


def account_out(account: Account, secrets: dict[str, Any], *, owner: str | None, today: date) -> AccountOut:
    can_login = (
        rules.can_login(secrets.get("password"), account.region or "cn")
        if account.kind == "dreamina"
        else None
    )
    chat_at, chat_source = chat_region(account)
    return AccountOut(
        id=account.id,
        kind=account.kind,
        name=account.name,
        owner_id=account.owner_id,
        owner=owner,
        visibility=account.visibility,
        status=account.status,
        status_reason=account.status_reason,
        status_changed_at=account.status_changed_at,
        status_until=account.status_until,
        region=account.region,
        chat_region=chat_at,
        chat_region_source=chat_source,
        weight=account.weight,
        max_concurrency=account.max_concurrency,
        settings=account.settings,
        secrets=masked_secrets(account, secrets),
        can_login=can_login,
        credential_expires_at=account.credential_expires_at,
        success_count=account.success_count,
        fail_count=account.fail_count,
        calls_today=calls_today(account, today),
        last_check=last_check(account),
        last_error=account.last_error,
        last_error_at=account.last_error_at,
        credits=account.credits,
        credits_read_at=account.credits_read_at,
        probe_enabled=account.probe_enabled,
        probe_interval_s=account.probe_interval_s,
        quota=quota_of(account),
        last_used_at=account.last_used_at,
        egress_proxy=egress_ref(account.egress_proxy),
        created_at=account.created_at,
        updated_at=account.updated_at,
    )


def quota_of(account: Account) -> QuotaOut | None:
    if account.quota_source is None or account.quota_updated_at is None:
        return None
    left = quota.fraction_left(account.quota_remaining, account.quota_limit)
    if left is None:
        return None
    return QuotaOut(
        source=account.quota_source,
        remaining=account.quota_remaining,
        limit=account.quota_limit,
        fraction_left=left,
        resets_at=account.quota_resets_at,
        runs_out_at=account.quota_runs_out_at,
        spared=quota.spared(account.quota_runs_out_at, account.quota_resets_at),
        updated_at=account.quota_updated_at,
    )
