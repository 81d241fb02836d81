"""`poolgate proxies`: list the egress proxies as a table, and test one, as an admin does through
`/api/v1/proxies` (the same service functions). Passwords are never printed."""

from __future__ import annotations

import argparse
from uuid import UUID

from services.account_service import db
from services.account_service.proxies import service
from services.account_service.proxies.schemas import Proxy
from services.account_service.settings import get_settings
from services.account_service.users.schemas import Actor
from services.account_service.users.service import owner_scope
from shared.crypto import SecretBox
from shared.errors import InvalidRequest

# The operator at the shell: sees every user's proxies, as an admin does.
_OPERATOR = Actor(user_id=UUID(int=0), username="", is_admin=True)
_COLUMNS = ("ID", "NAME", "URL", "REGION", "HEALTH", "LATENCY MS", "EXIT", "ACCOUNTS")


async def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    conn = await db.connect(settings.database_url)
    try:
        async with conn.transaction():
            if args.action == "list":
                user_id = await owner_scope(conn, actor=_OPERATOR, owner=args.user)
                print(format_table(await service.list_proxies(conn, user_id=user_id)))
                return 0
            try:
                proxy_id = UUID(args.proxy_id)
            except ValueError:
                raise InvalidRequest("proxy_id must be a proxy's id (a UUID)", param="proxy_id") from None
            tested = await service.test_proxy(
                conn,
                SecretBox(settings.secret_keys.get_secret_value()),
                actor=_OPERATOR,
                proxy_id=proxy_id,
                echo_url=settings.proxy_echo_url,
                timeout_s=settings.proxy_test_timeout_s,
            )
            print(tested.model_dump_json(exclude={"proxy"}))
            return 0 if tested.ok else 1
    finally:
        await conn.close()


def _health(proxy: Proxy) -> str:
    if proxy.healthy is None:
        return "not tested"
    return "healthy" if proxy.healthy else f"unhealthy: {proxy.last_error or '?'}"


def format_table(proxies: list[Proxy]) -> str:
    rows = [list(_COLUMNS)]
    for p in proxies:
        latency = "-" if p.latency_ms is None else f"{p.latency_ms:g}"
        exit_ = " ".join(x for x in (p.exit_ip, p.exit_country) if x) or "-"
        rows.append([str(p.id), p.name, p.url, p.region or "-", _health(p), latency, exit_, str(p.accounts)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)
