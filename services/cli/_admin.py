"""Administrative commands. They run account_service's own service functions on one connection, in
one transaction each, so their events go through the outbox exactly like the API's."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError

from services.account_service import db
from services.account_service.accounts.rotation import rotate_batch
from services.account_service.accounts.service import add_custom, parse_custom
from services.account_service.keys.schemas import KeyLimits, KeyUpdate
from services.account_service.keys.service import create_key, update_key
from services.account_service.migrations import migrate
from services.account_service.proxies import repository as proxies
from services.account_service.settings import AccountServiceSettings, get_settings
from services.account_service.users import passwords
from services.account_service.users.service import create_user, get_user
from shared.crypto import SecretBox
from shared.errors import InvalidRequest


async def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    if args.command == "migrate":
        applied = await migrate(settings.database_url)
        print(f"applied {len(applied)} migration(s)" + (f": {applied}" if applied else ""))
        return 0
    box = SecretBox(settings.secret_keys.get_secret_value())
    conn = await db.connect(settings.database_url)
    try:
        if (args.command, args.action) == ("secrets", "rotate"):
            accounts = await _rotate(conn, box, batch_size=args.batch_size)
            async with conn.transaction():
                passwords = await proxies.rotate_passwords(conn, box.rotate)
            print(
                f"rotated {accounts} account(s)"
                + (f" and {passwords} proxy password(s)" if passwords else "")
            )
            return 0
        async with conn.transaction():
            answer = await _dispatch(conn, args, box, settings)
            if answer:
                print(answer)
    finally:
        await conn.close()
    return 0


async def _rotate(conn, box: SecretBox, *, batch_size: int) -> int:
    """One transaction per batch: a long rotation never holds every row locked at once."""
    total, after = 0, None
    while True:
        async with conn.transaction():
            rotated, after = await rotate_batch(conn, box, after=after, limit=max(1, batch_size))
        if after is None:
            return total
        total += rotated


async def _dispatch(conn, args: argparse.Namespace, box: SecretBox, settings: AccountServiceSettings) -> str:
    match (args.command, args.action):
        case ("users", "create"):
            return str((await create_user(conn, username=args.name, is_admin=args.admin)).id)
        case ("users", "set-password"):
            user = await get_user(conn, username=args.name)
            if args.if_unset and await passwords.is_set(conn, user_id=user.id):
                return ""
            password = passwords.generate() if args.generate else _read_password()
            await passwords.set_password(conn, user_id=user.id, password=password)
            return password if args.generate else f"password set for {user.username}"
        case ("keys", "create"):
            limits = _checked(KeyLimits, _limit_changes(args))
            _, plaintext = await create_key(conn, username=args.user, name=args.name, limits=limits)
            return plaintext
        case ("keys", "limits"):
            key_id = _checked(_KeyId, {"key_id": args.key_id}).key_id
            update = _checked(KeyUpdate, _limit_changes(args))
            key = await update_key(conn, actor=None, key_id=key_id, update=update)
            return key.model_dump_json(include=set(KeyLimits.model_fields))
        case ("accounts", "add-custom"):
            spec = parse_custom(
                {
                    "name": args.name,
                    "api_base": args.api_base,
                    "api_key": args.api_key,
                    "format": args.format,
                    "provider": args.provider,
                    "models": args.models.split(","),
                    "visibility": args.visibility,
                    "weight": args.weight,
                }
            )
            account = await add_custom(
                conn,
                box,
                username=args.user,
                spec=spec,
                allow_private_upstreams=settings.allow_private_upstreams,
            )
            return str(account.id)
    raise AssertionError(f"unhandled command {args.command} {args.action}")


class _KeyId(BaseModel):
    key_id: UUID


def _limit_changes(args: argparse.Namespace) -> dict[str, object]:
    """The limit options given: `default` (or an empty --models) sets the limit back to its default."""
    changes: dict[str, object] = {}
    for field in KeyLimits.model_fields:
        value = getattr(args, field)
        if value is None:
            continue
        if field == "allowed_models":
            changes[field] = [m for m in value.split(",") if m.strip()]
        else:
            changes[field] = None if value.strip().lower() == "default" else value
    return changes


M = TypeVar("M", bound=BaseModel)


def _checked(model: type[M], values: dict[str, object]) -> M:
    """The values as `model`, or the first problem as a refusal naming the option."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "value"
        raise InvalidRequest(f"{field}: {first['msg']}", param=field) from None


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("poolgate: the two passwords differ")
    return first
