from __future__ import annotations

import hmac
import ipaddress
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Annotated

import asyncpg
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.account_service.allocation.health import Health
from services.account_service.allocation.picker import Picks
from services.account_service.jobs.runner import JobRunner
from services.account_service.keys.schemas import Caller
from services.account_service.keys.service import authenticate
from shared.crypto import SecretBox
from shared.day_boundary import DayBoundary
from shared.errors import Forbidden, Unauthenticated


@lru_cache(maxsize=1024)
def is_loopback(host: str | None) -> bool:
    """Whether a client address is this machine's loopback (IPv4-mapped forms included). A
    connection without an address (a Unix socket) is local too; a name is not an address."""
    if host is None:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def internal_api_refused(request: Request) -> Forbidden | None:
    """While the published development token guards the internal API (which returns decrypted
    credentials), only this machine may call it: anyone else could read the token in the source."""
    if not request.app.state.internal_loopback_only:
        return None
    client = request.scope.get("client")
    if is_loopback(client[0] if client else None):
        return None
    return loopback_only_refusal()


def loopback_only_refusal() -> Forbidden:
    return Forbidden(
        "the internal API answers only loopback clients while the development service token is in use;"
        " set POOLGATE_SERVICE_TOKEN to a random secret to serve it to other hosts",
        code="internal_api_loopback_only",
    )


# Dependencies are `async def` even when they do no I/O: FastAPI runs a plain `def` dependency in a
# worker thread, a measurable cost per call (bench/).
async def require_service_token(request: Request) -> None:
    refused = internal_api_refused(request)
    if refused is not None:
        raise refused
    expected = request.app.state.service_auth
    given = request.headers.get("authorization", "").encode()
    if not hmac.compare_digest(given, expected):
        raise Unauthenticated("internal API requires the service token")


ServiceCaller = Depends(require_service_token)


async def transaction(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """One connection and one transaction per management request: committed when the endpoint returns,
    rolled back when it raises. Services never commit; this is the edge (STYLE.md 3)."""
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        yield conn


# scope="function": the transaction ends before the response is sent, so a failed commit is an error
# answer, never a success the database does not hold.
Tx = Annotated[asyncpg.Connection, Depends(transaction, scope="function")]


async def get_box(request: Request) -> SecretBox:
    return request.app.state.box


Box = Annotated[SecretBox, Depends(get_box)]


async def get_days(request: Request) -> DayBoundary:
    return request.app.state.days


Days = Annotated[DayBoundary, Depends(get_days)]


async def get_picker(request: Request) -> Picks:
    return request.app.state.picker


async def get_health(request: Request) -> Health:
    return request.app.state.health


async def get_job_runner(request: Request) -> JobRunner:
    return request.app.state.jobs


LivePicker = Annotated[Picks, Depends(get_picker)]
LiveHealth = Annotated[Health, Depends(get_health)]
Jobs = Annotated[JobRunner, Depends(get_job_runner)]


async def private_upstreams_allowed(request: Request) -> bool:
    return request.app.state.settings.allow_private_upstreams


PrivateUpstreamsAllowed = Annotated[bool, Depends(private_upstreams_allowed)]

_bearer = HTTPBearer(
    auto_error=False, scheme_name="PoolGate API key", description="`Authorization: Bearer pg-...`"
)


async def current_caller(
    conn: Tx, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    if credentials is None or not credentials.credentials:
        raise Unauthenticated(
            "send a PoolGate API key as `Authorization: Bearer <key>`", code="missing_api_key"
        )
    return await authenticate(conn, key=credentials.credentials)


async def admin_caller(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if not caller.is_admin:
        raise Forbidden("this needs an admin's API key", code="admin_only")
    return caller


CurrentUser = Annotated[Caller, Depends(current_caller)]
AdminUser = Annotated[Caller, Depends(admin_caller)]

# Pages past this would only ever be empty; the cap keeps `(page - 1) * per_page` far inside
# PostgreSQL's bigint OFFSET (an unbounded page was a 500 from asyncpg's int8 overflow).
MAX_PAGE = 1_000_000
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")]
PerPage = Annotated[int, Query(ge=1, le=200, description="Items per page")]


async def wake_webhook_dispatcher(request: Request) -> AsyncIterator[None]:
    """For a request that adds webhook deliveries: its exit runs after the request's transaction
    committed, so this replica's dispatcher sends them now rather than at its next poll."""
    yield
    request.app.state.dispatcher.wake()


WakeDispatcher = Depends(wake_webhook_dispatcher)
