"""What the refresh worker reads and writes through the internal API: an account's decrypted
credentials, the credentials it renewed (a Kiro access token, a rotated refresh token, a new
Dreamina sessionid), and what each credential check found. A renewed credential makes a pending
account active.

A Dreamina read also carries what the account rules decide for it, so the worker applies them
without a copy of its own: `can_login` (only then may a browser login ever be tried) and
`upstream_credential` (the sessionid with its region prefix, as jimeng-api expects it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg

from services.account_service.accounts import quota, repository, rules
from services.account_service.accounts.schemas import Account
from services.account_service.accounts.service import change_status, decrypt_secrets, encrypt_secrets
from services.account_service.accounts.views import chat_region
from services.account_service.outbox.writer import record
from services.account_service.proxies.urls import egress_url
from shared.crypto import SecretBox
from shared.dreamina import jimeng_token
from shared.errors import NotFound
from shared.messages.contracts import AccountUpdated

# Secret fields a refresh may replace, and the non-secret ones it may set.
RENEWABLE_SECRETS = ("access_token", "refresh_token", "sessionid")
RENEWABLE_SETTINGS = ("profile_arn",)
CheckKind = Literal["refresh", "revalidation", "login"]


async def _locked(conn: asyncpg.Connection, account_id: UUID) -> Account:
    account = await repository.get_for_update(conn, account_id=account_id)
    if account is None:
        raise NotFound("no such account", param="account_id")
    return account


async def read(conn: asyncpg.Connection, box: SecretBox, *, account_id: UUID) -> dict[str, Any]:
    account = await repository.get(conn, account_id=account_id)
    if account is None:
        raise NotFound("no such account", param="account_id")
    secrets = decrypt_secrets(box, account)
    read = {
        "id": str(account.id),
        "kind": account.kind,
        "status": account.status,
        "region": account.region,
        "settings": account.settings,
        "credential_expires_at": account.credential_expires_at,
        "secrets": secrets,
        # The egress proxy all of the account's traffic goes through (never directly); None: direct.
        "proxy": egress_url(box, account.egress_proxy),
    }
    if account.kind == "kiro":
        read["chat_region"] = chat_region(account)[0]  # the host its calls (and probes) go to
    if account.kind == "dreamina":
        region, sessionid = account.region or "cn", secrets.get("sessionid")
        read["can_login"] = rules.can_login(secrets.get("password"), region)
        read["upstream_credential"] = jimeng_token(region, sessionid, read["proxy"]) if sessionid else None
    return read


async def store_renewed(
    conn: asyncpg.Connection,
    box: SecretBox,
    *,
    account_id: UUID,
    expires_at: datetime | None,
    secrets: dict[str, str],
    settings: dict[str, Any],
) -> Account:
    account = await _locked(conn, account_id)
    if account.kind == "dreamina" and secrets.get("sessionid"):
        # A login whose cookie carried no expiry: the default lifetime, as for an import.
        expires_at = rules.sessionid_expiry(
            sessionid=secrets["sessionid"], given=expires_at, now=datetime.now(UTC)
        )
    stored = decrypt_secrets(box, account)
    stored.update({k: v for k, v in secrets.items() if k in RENEWABLE_SECRETS and v})
    new_settings = {
        **account.settings,
        **{k: v for k, v in settings.items() if k in RENEWABLE_SETTINGS and v},
    }
    updated = await repository.update(
        conn,
        account_id=account.id,
        name=account.name,
        visibility=account.visibility,
        weight=account.weight,
        max_concurrency=account.max_concurrency,
        region=account.region,
        settings=new_settings,
        secrets=encrypt_secrets(box, stored),
        credential_expires_at=expires_at,
    )
    fields = sorted(
        {
            *(k for k in secrets if k in RENEWABLE_SECRETS),
            *(k for k in settings if k in RENEWABLE_SETTINGS),
            "credential_expires_at",
        }
    )
    await record(conn, AccountUpdated(account_id=str(account.id), kind=account.kind, fields=fields))
    if updated.status in ("pending", "active", "invalid"):
        updated = await change_status(conn, account=updated, status="active", reason="credential renewed")
    return updated


async def record_check(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    kind: CheckKind,
    ok: bool,
    reason: str | None,
    checked_at: datetime,
    credits: int | None,
    credits_read_at: datetime | None,
    usage_limits: tuple[float, float, datetime | None, datetime] | None = None,
) -> Account:
    """What a credential check found, kept beside the account (with the credits it read, if any).
    A check that proved the credential good brings an account that was `invalid` for it back.
    Credits read and Kiro's `usage_limits` (remaining, limit, resets_at, read_at) are the account's
    quota too (accounts/quota.py)."""
    account = await _locked(conn, account_id)
    await repository.set_check(
        conn,
        account_id=account.id,
        kind=kind,
        ok=ok,
        reason=reason,
        checked_at=checked_at,
        credits=credits,
        credits_read_at=credits_read_at,
    )
    readings = []
    if credits is not None and credits_read_at is not None:
        readings.append(
            quota.QuotaReading(account.id, "dreamina_points", float(credits), None, None, credits_read_at)
        )
    if usage_limits is not None:
        remaining, limit, resets_at, read_at = usage_limits
        readings.append(
            quota.QuotaReading(account.id, "kiro_usage_limits", remaining, limit, resets_at, read_at)
        )
    await quota.store(conn, readings)
    if ok and account.status == "invalid":
        account = await change_status(conn, account=account, status="active", reason=f"{kind}: credential ok")
    return account


async def reject(conn: asyncpg.Connection, *, account_id: UUID, reason: str) -> Account:
    """The credential is proven dead (e.g. `invalid_grant`): out of the pool until a person acts."""
    account = await _locked(conn, account_id)
    return await change_status(conn, account=account, status="invalid", reason=reason)
