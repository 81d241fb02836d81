from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.account_service.keys.schemas import Caller
from services.account_service.keys.service import authenticate
from shared.crypto import SecretBox
from shared.errors import Forbidden, Unauthenticated


# Dependencies are `async def` even when they do no I/O: FastAPI runs a plain `def` dependency in a
# worker thread, a measurable cost per call (bench/).
async def require_service_token(request: Request) -> None:
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
