"""Administrative commands. They run account_service's own service functions on one connection, in
one transaction each, so their events go through the outbox exactly like the API's."""

from __future__ import annotations

import argparse
import getpass
import sys

from services.account_service import db
from services.account_service.accounts.rotation import rotate_batch
from services.account_service.accounts.service import add_custom, parse_custom
from services.account_service.keys.service import create_key
from services.account_service.migrations import migrate
from services.account_service.settings import AccountServiceSettings, get_settings
from services.account_service.users import passwords
from services.account_service.users.service import create_user, get_user
from shared.crypto import SecretBox


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
            print(f"rotated {await _rotate(conn, box, batch_size=args.batch_size)} account(s)")
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
            _, plaintext = await create_key(conn, username=args.user, name=args.name)
            return plaintext
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


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("poolgate: the two passwords differ")
    return first
