"""The egress proxy rules, shared by the management API and the console.

Owners manage their own proxies, admins everyone's; an account is put only on a proxy of its own
owner. Deleting a proxy that accounts still use is refused (409, with how many): unassign them first,
so no account is ever silently left to connect directly. Every change to what an account's traffic
goes through is announced (`account.updated`, field `egress_proxy`), so each replica's index reloads it.
"""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

import asyncpg

from services.account_service.accounts import repository as accounts
from services.account_service.outbox.writer import record
from services.account_service.proxies import health, repository
from services.account_service.proxies.probe import probe
from services.account_service.proxies.schemas import (
    Assignment,
    Proxy,
    ProxyCreate,
    ProxyTest,
    ProxyUpdate,
    StoredProxy,
)
from services.account_service.proxies.urls import egress_url
from services.account_service.users.schemas import Actor
from shared.crypto import SecretBox
from shared.egress import proxy_url
from shared.errors import Conflict, NotFound, Unprocessable
from shared.messages.contracts import AccountUpdated
from shared.netguard import internal_address_of

CHANGED_FIELD = "egress_proxy"
# What changes the URL an account's traffic goes through (a rename or a region does not).
_ADDRESS_FIELDS = frozenset({"scheme", "host", "port", "username", "password"})


def decrypted_url(box: SecretBox, stored: StoredProxy) -> str:
    """The proxy's URL with its credentials, for the connections that use it (never shown)."""
    return egress_url(box, stored.model_dump()) or ""


async def ensure_reachable(host: str, port: int, *, allow_private: bool) -> None:
    """A proxy on an internal network is refused unless private upstreams are allowed (the same SSRF
    rule and setting as an account's `api_base` and a webhook's URL, shared/netguard.py)."""
    if allow_private:
        return
    address = await internal_address_of(proxy_url("http", host, port))
    if address is not None:
        raise Unprocessable(
            f"host resolves to an address that is not globally routable ({address}); internal networks"
            " are refused unless the operator sets POOLGATE_ALLOW_PRIVATE_UPSTREAMS=true",
            param="host",
            code="proxy_address_refused",
        )


async def _announce(conn: asyncpg.Connection, changed: list[tuple[UUID, str]]) -> None:
    for account_id, kind in changed:
        await record(conn, AccountUpdated(account_id=str(account_id), kind=kind, fields=[CHANGED_FIELD]))


async def create_proxy(
    conn: asyncpg.Connection, box: SecretBox, *, owner_id: UUID, spec: ProxyCreate, allow_private: bool
) -> Proxy:
    await ensure_reachable(spec.host, spec.port, allow_private=allow_private)
    fields = spec.model_dump()
    fields["username"] = spec.username or None
    fields["password"] = box.encrypt(spec.password) if spec.password else None
    try:
        stored = await repository.create(conn, user_id=owner_id, fields=fields)
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"a proxy named {spec.name!r} already exists", param="name") from exc
    return Proxy.of(stored)


async def list_proxies(conn: asyncpg.Connection, *, user_id: UUID | None) -> list[Proxy]:
    return [Proxy.of(p) for p in await repository.listing(conn, user_id=user_id)]


async def owned(conn: asyncpg.Connection, *, actor: Actor, proxy_id: UUID) -> StoredProxy:
    """The proxy, if the actor may see it: anyone else's is a 404, as if it did not exist."""
    stored = await repository.get(conn, proxy_id=proxy_id)
    if stored is None or not actor.may_see(stored.user_id):
        raise NotFound("no such proxy", param="proxy_id")
    return stored


async def update_proxy(
    conn: asyncpg.Connection,
    box: SecretBox,
    *,
    actor: Actor,
    proxy_id: UUID,
    spec: ProxyUpdate,
    allow_private: bool,
) -> Proxy:
    stored = await owned(conn, actor=actor, proxy_id=proxy_id)
    fields = spec.model_dump(exclude_unset=True)
    for name in ("name", "scheme", "host", "port"):
        if name in fields and fields[name] is None:
            raise Unprocessable(f"{name} cannot be removed", param=name)
    for name in ("username", "password", "region"):
        if name in fields and not fields[name]:
            fields[name] = None  # "" or null: removed
    if fields.get("password"):
        fields["password"] = box.encrypt(fields["password"])
    if "host" in fields or "port" in fields:
        await ensure_reachable(
            fields.get("host", stored.host), fields.get("port", stored.port), allow_private=allow_private
        )
    if not fields:
        return Proxy.of(stored)
    try:
        updated = await repository.update(conn, proxy_id=proxy_id, fields=fields)
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"a proxy named {fields['name']!r} already exists", param="name") from exc
    if _ADDRESS_FIELDS & fields.keys():
        ids = await repository.account_ids(conn, proxy_id=proxy_id)
        found = await accounts.get_many(conn, account_ids=ids)
        await _announce(conn, [(a.id, a.kind) for a in found.values()])
    return Proxy.of(updated)


async def delete_proxy(conn: asyncpg.Connection, *, actor: Actor, proxy_id: UUID) -> None:
    stored = await owned(conn, actor=actor, proxy_id=proxy_id)
    if stored.accounts:
        raise Conflict(
            f"{stored.accounts} account(s) use this proxy; unassign them first"
            " (POST /api/v1/proxies/unassign) so none is left to connect directly",
            param="proxy_id",
            code="proxy_in_use",
        )
    await repository.delete(conn, proxy_id=proxy_id)


async def test_proxy(
    conn: asyncpg.Connection,
    box: SecretBox,
    *,
    actor: Actor,
    proxy_id: UUID,
    echo_url: str,
    timeout_s: float,
) -> ProxyTest:
    """Fetch the echo URL through the proxy; the result is its health from now on (a healthy proxy
    that fails it is announced, `egress_proxy.unhealthy`)."""
    stored = await owned(conn, actor=actor, proxy_id=proxy_id)
    found = await probe(decrypted_url(box, stored), echo_url=echo_url, timeout_s=timeout_s)
    await health.record_health(
        conn,
        proxy_id=proxy_id,
        healthy=found.ok,
        error=found.error,
        latency_ms=found.latency_ms,
        exit_ip=found.exit_ip,
        exit_country=found.exit_country,
    )
    after = await owned(conn, actor=actor, proxy_id=proxy_id)
    return ProxyTest(
        ok=found.ok,
        latency_ms=found.latency_ms,
        exit_ip=found.exit_ip,
        exit_country=found.exit_country,
        error=found.error,
        proxy=Proxy.of(after),
    )


async def _accounts_for(conn: asyncpg.Connection, *, actor: Actor, account_ids: list[UUID]) -> dict:
    found = await accounts.get_many(conn, account_ids=list(dict.fromkeys(account_ids)))
    missing = [str(i) for i in account_ids if i not in found or not actor.may_see(found[i].owner_id)]
    if missing:
        raise NotFound(f"no such account: {', '.join(missing[:5])}", param="account_ids")
    return found


async def assign(
    conn: asyncpg.Connection, *, actor: Actor, proxy_id: UUID, account_ids: list[UUID]
) -> Assignment:
    """Put many accounts on one proxy; every account must be the proxy owner's."""
    stored = await owned(conn, actor=actor, proxy_id=proxy_id)
    found = await _accounts_for(conn, actor=actor, account_ids=account_ids)
    foreign = [str(a.id) for a in found.values() if a.owner_id != stored.user_id]
    if foreign:
        raise Unprocessable(
            f"an account can only use its own owner's proxy: {', '.join(foreign[:5])}",
            param="account_ids",
            code="proxy_owner_mismatch",
        )
    changed = await repository.set_proxy(conn, account_ids=list(found), proxy_id=proxy_id)
    await _announce(conn, changed)
    return Assignment(assigned=list(found), proxy_ids=[proxy_id] * len(found))


async def unassign(conn: asyncpg.Connection, *, actor: Actor, account_ids: list[UUID]) -> Assignment:
    """Take the accounts off their proxies: from now on they connect directly."""
    found = await _accounts_for(conn, actor=actor, account_ids=account_ids)
    changed = await repository.set_proxy(conn, account_ids=list(found), proxy_id=None)
    await _announce(conn, changed)
    return Assignment(assigned=[], proxy_ids=[], left=len(found))


def plan(
    proxies: list[StoredProxy], unassigned: list, *, max_per_proxy: int, same_region_only: bool
) -> list[tuple[UUID, UUID, str]]:
    """(account id, proxy id, kind) for each account that finds room: only healthy proxies (tested
    or used successfully) of the account's owner, never more than `max_per_proxy` accounts on one
    (those already there count), the least used first; with `same_region_only`, only a proxy whose
    region is the account's."""
    load = {p.id: p.accounts for p in proxies}
    by_owner: dict[UUID, list[StoredProxy]] = defaultdict(list)
    for p in proxies:
        if p.healthy:
            by_owner[p.user_id].append(p)
    chosen = []
    for account in unassigned:
        fits = [
            p
            for p in by_owner.get(account["owner_id"], ())
            if load[p.id] < max_per_proxy and (not same_region_only or p.region == account["region"])
        ]
        if not fits:
            continue
        best = min(fits, key=lambda p: (load[p.id], p.latency_ms or 0.0, str(p.id)))
        load[best.id] += 1
        chosen.append((account["id"], best.id, account["kind"]))
    return chosen


async def auto_assign(
    conn: asyncpg.Connection, *, owner_id: UUID | None, max_per_proxy: int, same_region_only: bool
) -> Assignment:
    """Put the owner's (None: everyone's) unassigned accounts on healthy proxies (`plan`)."""
    proxies = await repository.listing(conn, user_id=owner_id)
    unassigned = await repository.unassigned_accounts(conn, user_id=owner_id)
    chosen = plan(proxies, unassigned, max_per_proxy=max_per_proxy, same_region_only=same_region_only)
    by_proxy: dict[UUID, list[UUID]] = defaultdict(list)
    for account_id, proxy_id, _ in chosen:
        by_proxy[proxy_id].append(account_id)
    for proxy_id, ids in by_proxy.items():
        await repository.set_proxy(conn, account_ids=ids, proxy_id=proxy_id)
    await _announce(conn, [(a, kind) for a, _, kind in chosen])
    return Assignment(
        assigned=[a for a, _, _ in chosen],
        proxy_ids=[p for _, p, _ in chosen],
        left=len(unassigned) - len(chosen),
    )
