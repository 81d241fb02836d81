"""Account lifecycle: create, read, list, change status, delete, ask for a refresh.

Every change records its event in the caller's transaction; nothing here commits.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from pydantic import ValidationError

from services.account_service.accounts import repository, rules
from services.account_service.accounts.schemas import (
    CREATE_MODELS,
    Account,
    AccountCreateBase,
    AccountOut,
    CustomApiCreate,
    validation_error,
)
from services.account_service.accounts.views import account_out
from services.account_service.allocation.health import Health
from services.account_service.allocation.picker import Picks
from services.account_service.outbox.writer import record
from services.account_service.users.schemas import Actor, User
from services.account_service.users.service import get_user, owner_scope, resolve_owner, usernames
from shared.crypto import SecretBox
from shared.errors import Conflict, NotFound, Unprocessable
from shared.logging import get_logger
from shared.messages.contracts import (
    AccountCreated,
    AccountDeleted,
    AccountRefreshRequested,
    AccountStatusChanged,
)
from shared.netguard import internal_address_of
from shared.outages import is_unavailable

__all__ = ["validation_error"]

log = get_logger(__name__)

_DREAMINA_EMAIL_KEY = "accounts_dreamina_email_key"
# The kinds whose credential the refresh worker renews or revalidates.
REFRESHABLE = ("kiro", "dreamina")


def parse_spec(kind: str, data: dict[str, Any]) -> AccountCreateBase:
    """Validate `data` as a new account of `kind`; a 422 naming the first bad field otherwise."""
    try:
        return CREATE_MODELS[kind].model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from exc


def parse_custom(data: dict) -> CustomApiCreate:
    return parse_spec("custom_api", data)  # type: ignore[return-value]


def decrypt_secrets(box: SecretBox, account: Account) -> dict[str, Any]:
    return orjson.loads(box.decrypt(account.secrets))


def encrypt_secrets(box: SecretBox, secrets: dict[str, Any]) -> str:
    return box.encrypt(orjson.dumps(secrets).decode())


def duplicate_email(exc: asyncpg.UniqueViolationError) -> Conflict | None:
    if exc.constraint_name != _DREAMINA_EMAIL_KEY:
        return None
    return Conflict("duplicate email: this owner already has a Dreamina account with it", param="email")


async def ensure_reachable_upstream(spec: AccountCreateBase, *, allow_private: bool) -> None:
    """Refuse an account's own `api_base` (custom API, Dreamina's jimeng-api) that is not globally
    routable unless the operator allows it (SSRF)."""
    api_base = getattr(spec, "api_base", None)
    if not api_base or allow_private:
        return
    address = await internal_address_of(api_base)
    if address is not None:
        raise Unprocessable(
            f"api_base resolves to an address that is not globally routable ({address}); private,"
            " loopback, link-local, carrier-grade NAT and other internal networks are refused unless the"
            " operator sets POOLGATE_ALLOW_PRIVATE_UPSTREAMS=true",
            param="api_base",
            code="upstream_address_refused",
        )


async def create_account(
    conn: asyncpg.Connection,
    box: SecretBox,
    *,
    owner: User,
    spec: AccountCreateBase,
    allow_private_upstreams: bool = False,
) -> Account:
    """Store a new account in the status its credential starts in, and announce it."""
    await ensure_reachable_upstream(spec, allow_private=allow_private_upstreams)
    secrets = spec.secrets()
    try:
        account = await repository.insert(
            conn,
            owner_id=owner.id,
            kind=spec.kind,
            name=spec.display_name(),
            visibility=spec.visibility,
            status=rules.initial_status(spec.kind, secrets),
            weight=spec.weight,
            max_concurrency=spec.max_concurrency,
            settings=spec.settings(),
            secrets=encrypt_secrets(box, secrets),
            region=spec.stored_region(),
            credential_expires_at=spec.credential_expires_at(datetime.now(UTC)),
        )
    except asyncpg.UniqueViolationError as exc:
        conflict = duplicate_email(exc)
        if conflict is None:
            raise
        raise conflict from exc
    await record(conn, AccountCreated(account_id=str(account.id), kind=account.kind, owner_id=str(owner.id)))
    return account


async def add_account(
    conn: asyncpg.Connection,
    box: SecretBox,
    *,
    actor: Actor,
    spec: AccountCreateBase,
    owner: str | None = None,
    allow_private_upstreams: bool = False,
) -> Account:
    """A new account of the actor's, or (admins) of the user they name: what the management API's and
    the console's add forms both do."""
    user = await resolve_owner(conn, actor=actor, username=owner)
    return await create_account(
        conn, box, owner=user, spec=spec, allow_private_upstreams=allow_private_upstreams
    )


async def add_custom(
    conn: asyncpg.Connection,
    box: SecretBox,
    *,
    username: str,
    spec: CustomApiCreate,
    allow_private_upstreams: bool = False,
) -> Account:
    """Store a custom API account (active at once: its key is checked by the first call) and announce it."""
    owner = await get_user(conn, username=username)
    return await create_account(
        conn, box, owner=owner, spec=spec, allow_private_upstreams=allow_private_upstreams
    )


async def get_account(
    conn: asyncpg.Connection, *, actor: Actor, account_id: UUID, lock: bool = False
) -> Account:
    """The account if the actor may see it; another user's account is as missing as an unknown one."""
    if lock:
        account = await repository.get_for_update(conn, account_id=account_id)
    else:
        account = await repository.get(conn, account_id=account_id)
    if account is None or not actor.may_see(account.owner_id):
        raise NotFound("no such account", param="account_id")
    return account


async def list_accounts(
    conn: asyncpg.Connection,
    *,
    actor: Actor,
    owner: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    region: str | None = None,
    visibility: str | None = None,
    sort: str = repository.DEFAULT_SORT,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Account], int]:
    """One page of the accounts the actor may see: their own, or (admins) everyone's or one owner's."""
    if sort.removeprefix("-") not in repository.SORTS:
        raise Unprocessable(
            f"unknown sort {sort!r}; allowed: {', '.join(repository.SORTS)} (prefix - for descending)",
            param="sort",
        )
    if region is not None and region not in rules.ALL_REGIONS:
        raise Unprocessable(
            f"unknown region {region!r}; allowed: {rules.allowed(rules.ALL_REGIONS)}", param="region"
        )
    owner_id = await owner_scope(conn, actor=actor, owner=owner)
    return await repository.search(
        conn,
        owner_id=owner_id,
        kind=kind,
        status=status,
        region=region,
        visibility=visibility,
        sort=sort,
        limit=per_page,
        offset=(page - 1) * per_page,
    )


async def present(
    conn: asyncpg.Connection, box: SecretBox, accounts: list[Account], *, today: date
) -> list[AccountOut]:
    """Accounts as the API shows them: owner usernames, secrets masked, today's calls as of `today`."""
    owners = await usernames(conn, user_ids=[a.owner_id for a in accounts])
    return [
        account_out(a, decrypt_secrets(box, a), owner=owners.get(a.owner_id), today=today) for a in accounts
    ]


async def change_status(
    conn: asyncpg.Connection,
    *,
    account: Account,
    status: str,
    reason: str | None,
    until: datetime | None = None,
) -> Account:
    """Set a status with its reason and time, and announce it (a no-op if nothing changes)."""
    if account.status == status and account.status_reason == reason and account.status_until == until:
        return account
    account = await repository.set_status(
        conn, account_id=account.id, status=status, reason=reason, until=until
    )
    await record(
        conn,
        AccountStatusChanged(account_id=str(account.id), kind=account.kind, status=status, reason=reason),
    )
    return account


async def set_enabled(
    conn: asyncpg.Connection,
    box: SecretBox,
    *,
    actor: Actor,
    account_id: UUID,
    enabled: bool,
    verb: str = "enabled",
) -> Account:
    """Disable; or make usable again (from disabled, invalid, exhausted, its reset time cleared) in the
    status its credential has: active, or pending while it has none. `verb` goes into the reason."""
    account = await get_account(conn, actor=actor, account_id=account_id, lock=True)
    if not enabled:
        if account.status == "disabled":
            return account
        return await change_status(
            conn, account=account, status="disabled", reason=f"disabled by {actor.username}"
        )
    if account.status in ("active", "pending"):
        return account
    status = rules.initial_status(account.kind, decrypt_secrets(box, account))
    return await change_status(conn, account=account, status=status, reason=f"{verb} by {actor.username}")


async def restore_account(
    conn: asyncpg.Connection,
    box: SecretBox,
    *,
    picker: Picks,
    health: Health,
    actor: Actor,
    account_id: UUID,
) -> Account:
    """Make the account usable at once, as the old manager's restore did: out of disabled, invalid or
    exhausted (as enabling does), and what recent calls said of it forgotten (its cooldown and its
    success rate), so it is chosen again like a healthy account. Live health is only a moving
    estimate: with Redis away it is left to recover by itself."""
    account = await set_enabled(conn, box, actor=actor, account_id=account_id, enabled=True, verb="restored")
    await picker.end_cooldown(str(account.id))  # the fallback picker copes with Redis being away
    try:
        await health.forget(str(account.id))
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        log.warning("account.health_not_reset", account_id=str(account.id), error=exc.__class__.__name__)
    return account


async def delete_account(conn: asyncpg.Connection, *, actor: Actor, account_id: UUID) -> None:
    account = await get_account(conn, actor=actor, account_id=account_id, lock=True)
    await repository.delete(conn, account_id=account.id)
    await record(conn, AccountDeleted(account_id=str(account.id), kind=account.kind))


async def queue_refresh(conn: asyncpg.Connection, *, account: Account, requested_by: str) -> None:
    """Ask the refresh worker to refresh (Kiro) or revalidate (Dreamina; a login only if the account
    can log in) the credential: queued, not done; the worker's result shows as the account's last check."""
    await record(
        conn,
        AccountRefreshRequested(account_id=str(account.id), kind=account.kind, requested_by=requested_by),
    )


async def request_refresh(conn: asyncpg.Connection, *, actor: Actor, account_id: UUID) -> Account:
    account = await get_account(conn, actor=actor, account_id=account_id)
    if account.kind not in REFRESHABLE:
        raise Unprocessable(f"a {account.kind} account has no credential to refresh", param="account_id")
    await queue_refresh(conn, account=account, requested_by=actor.username)
    return account
