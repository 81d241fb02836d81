"""What the refresh worker reads and writes through the internal API: an account's decrypted
credentials, and the credentials it renewed (a Kiro access token, a rotated refresh token, a new
Dreamina sessionid). A renewed credential makes a pending account active."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.account_service.accounts import repository
from services.account_service.accounts.schemas import Account
from services.account_service.accounts.service import change_status, decrypt_secrets, encrypt_secrets
from services.account_service.outbox.writer import record
from shared.crypto import SecretBox
from shared.errors import NotFound
from shared.messages.contracts import AccountUpdated

# Secret fields a refresh may replace, and the non-secret ones it may set.
RENEWABLE_SECRETS = ("access_token", "refresh_token", "sessionid")
RENEWABLE_SETTINGS = ("profile_arn",)


async def _locked(conn: asyncpg.Connection, account_id: UUID) -> Account:
    account = await repository.get_for_update(conn, account_id=account_id)
    if account is None:
        raise NotFound("no such account", param="account_id")
    return account


async def read(conn: asyncpg.Connection, box: SecretBox, *, account_id: UUID) -> dict[str, Any]:
    account = await repository.get(conn, account_id=account_id)
    if account is None:
        raise NotFound("no such account", param="account_id")
    return {
        "id": str(account.id),
        "kind": account.kind,
        "status": account.status,
        "region": account.region,
        "settings": account.settings,
        "credential_expires_at": account.credential_expires_at,
        "secrets": decrypt_secrets(box, account),
    }


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


async def reject(conn: asyncpg.Connection, *, account_id: UUID, reason: str) -> Account:
    """The credential is proven dead (e.g. `invalid_grant`): out of the pool until a person acts."""
    account = await _locked(conn, account_id)
    return await change_status(conn, account=account, status="invalid", reason=reason)
