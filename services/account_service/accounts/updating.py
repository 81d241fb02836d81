"""Changing an account: the stored account with the changes applied is validated again as a whole by its
kind's rules; a new credential starts over in the status a new account would have."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.account_service.accounts import repository, rules
from services.account_service.accounts.schemas import CREATE_MODELS, Account, AccountCreateBase, AccountUpdate
from services.account_service.accounts.service import (
    change_status,
    decrypt_secrets,
    duplicate_email,
    encrypt_secrets,
    ensure_reachable_upstream,
    get_account,
    parse_spec,
)
from services.account_service.outbox.writer import record
from services.account_service.probes import repository as probes
from services.account_service.users.schemas import Actor
from shared.crypto import SecretBox
from shared.errors import Unprocessable
from shared.messages.contracts import AccountUpdated


def _merge(account: Account, stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    model = CREATE_MODELS[account.kind]
    merged = {**stored, **patch}
    # A name that was the default keeps following what it is derived from (email, region, token).
    if (
        "name" not in patch
        and account.name == model.model_construct(**{**stored, "name": None}).display_name()
    ):
        merged["name"] = None
    # A new sessionid gets its own expiry (given, or the default), not the old one's.
    if (
        "sessionid" in patch
        and patch["sessionid"] != stored.get("sessionid")
        and "sessionid_expires_at" not in patch
    ):
        merged["sessionid_expires_at"] = None
    # New Kiro client credentials without an auth type: infer it again (they mean idc).
    if "auth_type" not in patch and ("client_id" in patch or "client_secret" in patch):
        merged["auth_type"] = None
    return merged


def _credential_expiry(
    account: Account, after: AccountCreateBase, *, changed: list[str], new_credential: bool
) -> datetime | None:
    if account.kind == "dreamina" and (new_credential or "sessionid_expires_at" in changed):
        return after.credential_expires_at(datetime.now(UTC))
    if new_credential:
        return None  # a Kiro access token's expiry belongs to the old credential
    return account.credential_expires_at


def _changed_fields(account: Account, stored: dict[str, Any], after: AccountCreateBase) -> list[str]:
    changed = [f for f in type(after).model_fields if f != "name" and stored.get(f) != getattr(after, f)]
    if after.display_name() != account.name:
        changed.append("name")
    return sorted(changed)


PROBE_FIELDS = ("probe_enabled", "probe_interval_s")


async def _update_probe(conn: asyncpg.Connection, account: Account, probe: dict[str, Any]) -> Account:
    """Apply the probe fields of a change (every kind has them); the account as it is after."""
    for name, value in probe.items():
        if value is None:
            raise Unprocessable(f"{name} cannot be null", param=name)
    enabled = probe.get("probe_enabled", account.probe_enabled)
    interval_s = probe.get("probe_interval_s", account.probe_interval_s)
    changed = sorted(
        name
        for name, before, after in (
            ("probe_enabled", account.probe_enabled, enabled),
            ("probe_interval_s", account.probe_interval_s, interval_s),
        )
        if before != after
    )
    if not changed:
        return account
    await probes.set_schedule(conn, account_id=account.id, enabled=enabled, interval_s=interval_s)
    await record(conn, AccountUpdated(account_id=str(account.id), kind=account.kind, fields=changed))
    return account.model_copy(update={"probe_enabled": enabled, "probe_interval_s": interval_s})


async def update_account(
    conn: asyncpg.Connection,
    box: SecretBox,
    *,
    actor: Actor,
    account_id: UUID,
    update: AccountUpdate,
    allow_private_upstreams: bool = False,
) -> Account:
    account = await get_account(conn, actor=actor, account_id=account_id, lock=True)
    patch = update.model_dump(exclude_unset=True)
    account = await _update_probe(conn, account, {f: patch.pop(f) for f in PROBE_FIELDS if f in patch})
    if not patch:
        return account
    fields = CREATE_MODELS[account.kind].model_fields
    foreign = [f for f in patch if f not in fields]
    if foreign:
        raise Unprocessable(f"{foreign[0]} does not apply to {account.kind} accounts", param=foreign[0])
    secrets = decrypt_secrets(box, account)
    stored = CREATE_MODELS[account.kind].stored_fields(account, secrets)
    after = parse_spec(account.kind, _merge(account, stored, patch))
    changed = _changed_fields(account, stored, after)
    if not changed:
        return account
    # Only a new api_base is checked: an account saved while private upstreams were allowed can still
    # have its other fields edited (the proxy refuses to connect to it all the same).
    if "api_base" in changed:
        await ensure_reachable_upstream(after, allow_private=allow_private_upstreams)

    new_credential = bool(rules.CREDENTIAL_FIELDS[account.kind].intersection(changed))
    new_secrets = after.secrets()
    if not new_credential:
        # What the worker made from the credential (a Kiro access token) stays with it, and only with it.
        new_secrets.update({k: secrets[k] for k in rules.WORKER_SECRETS[account.kind] if k in secrets})
    expires_at = _credential_expiry(account, after, changed=changed, new_credential=new_credential)

    try:
        updated = await repository.update(
            conn,
            account_id=account.id,
            name=after.display_name(),
            visibility=after.visibility,
            weight=after.weight,
            max_concurrency=after.max_concurrency,
            region=after.stored_region(),
            settings=after.settings(),
            secrets=encrypt_secrets(box, new_secrets),
            credential_expires_at=expires_at,
        )
    except asyncpg.UniqueViolationError as exc:
        conflict = duplicate_email(exc)
        if conflict is None:
            raise
        raise conflict from exc
    await record(conn, AccountUpdated(account_id=str(account.id), kind=account.kind, fields=changed))

    if new_credential and updated.status != "disabled":
        status = rules.initial_status(account.kind, new_secrets)
        if status != updated.status:
            updated = await change_status(conn, account=updated, status=status, reason="credentials changed")
    return updated
