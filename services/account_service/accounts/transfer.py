"""Bulk import (a savepoint per entry, so good lines are stored even when others fail) and export."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.account_service.accounts import importing, repository, rules
from services.account_service.accounts.schemas import (
    DreaminaCreate,
    DreaminaImport,
    ImportLine,
    ImportReport,
    KiroCreate,
    KiroImport,
    Visibility,
)
from services.account_service.accounts.service import create_account, decrypt_secrets
from services.account_service.users.schemas import Actor, User
from services.account_service.users.service import resolve_owner
from shared.crypto import SecretBox
from shared.errors import PoolGateError, Unprocessable


async def import_verdicts(
    conn: asyncpg.Connection,
    box: SecretBox,
    *,
    owner: User,
    verdicts: list[importing.Verdict],
    visibility: Visibility,
) -> ImportReport:
    results: list[ImportLine] = []
    for verdict in verdicts:
        if isinstance(verdict, importing.Rejected):
            results.append(ImportLine(line=verdict.line, ok=False, reason=verdict.reason))
            continue
        spec = verdict.spec.model_copy(update={"visibility": visibility})
        try:
            async with conn.transaction():  # a savepoint: a failed line leaves the others intact
                account = await create_account(conn, box, owner=owner, spec=spec)
        except PoolGateError as exc:
            results.append(ImportLine(line=verdict.line, ok=False, reason=exc.message))
            continue
        results.append(ImportLine(line=verdict.line, ok=True, account_id=account.id))
    imported = sum(r.ok for r in results)
    return ImportReport(results=results, imported=imported, failed=len(results) - imported)


async def import_kiro(
    conn: asyncpg.Connection, box: SecretBox, *, actor: Actor, owner: str | None, body: KiroImport
) -> ImportReport:
    """Kiro tokens (lines or JSON) for the actor, or (admins) the user they name: a verdict per entry,
    the good ones stored even when others fail (the API's import and the console's)."""
    try:
        default_region = rules.kiro_region(body.default_region)
    except rules.RuleViolation as violation:
        raise Unprocessable(f"default_region: {violation.message}", param="default_region") from None
    user = await resolve_owner(conn, actor=actor, username=owner)
    verdicts = importing.parse_kiro(body.text, default_region=default_region)
    return await import_verdicts(conn, box, owner=user, verdicts=verdicts, visibility=body.visibility)


async def import_dreamina(
    conn: asyncpg.Connection, box: SecretBox, *, owner: User, body: DreaminaImport
) -> ImportReport:
    """`email:password:region[:sessionid]` lines for `owner` (the API's import and the console's)."""
    verdicts = importing.parse_dreamina(body.text)
    return await import_verdicts(conn, box, owner=owner, verdicts=verdicts, visibility=body.visibility)


async def _stored_specs(conn, box, *, kind: str, model, owner_id: UUID | None) -> list:
    accounts = await repository.list_of_kind(conn, kind=kind, owner_id=owner_id)
    # Written exactly as stored (every stored account was validated when it was written).
    return [model.model_construct(**model.stored_fields(a, decrypt_secrets(box, a))) for a in accounts]


async def export_kiro(conn: asyncpg.Connection, box: SecretBox, *, owner_id: UUID | None) -> list[dict]:
    return importing.format_kiro(
        await _stored_specs(conn, box, kind="kiro", model=KiroCreate, owner_id=owner_id)
    )


async def export_dreamina(conn: asyncpg.Connection, box: SecretBox, *, owner_id: UUID | None) -> str:
    specs = await _stored_specs(conn, box, kind="dreamina", model=DreaminaCreate, owner_id=owner_id)
    return importing.format_dreamina(specs)
