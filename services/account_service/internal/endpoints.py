from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from starlette.datastructures import State
from starlette.routing import Route

from services.account_service.accounts import credentials
from services.account_service.allocation.service import AllocationRequest
from services.account_service.allocation.sticky import valid_session
from services.account_service.deps import (
    Box,
    LiveHealth,
    LivePicker,
    ServiceCaller,
    Tx,
    require_service_token,
)
from services.account_service.input_check import reject_unstorable_text
from services.account_service.probes import service as probes
from services.account_service.probes.schemas import ProbeOut, ProbeReport
from shared.errors import InvalidRequest
from shared.responses import JSONResponse

# The hot routes below are plain endpoints outside this router: neither dependency runs for them.
router = APIRouter(
    prefix="/internal/v1",
    dependencies=[ServiceCaller, Depends(reject_unstorable_text)],
    include_in_schema=False,
)


def _keyed(body: Any) -> str:
    """The `api_key` of a keyed call's body."""
    api_key = body.get("api_key") if isinstance(body, dict) else None
    if not isinstance(api_key, str) or not api_key:
        raise InvalidRequest("body must be a JSON object with a non-empty api_key", param="api_key")
    return api_key


def _leases(body: dict, field: str) -> tuple[tuple[str, str], ...]:
    """`[[account_id, lease_id], ...]` from the body, checked: a bad pair is the caller's bug."""
    pairs = body.get(field) or []
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) and x for x in p) for p in pairs
    ):
        raise InvalidRequest(f"{field} must be a list of [account_id, lease_id] pairs", param=field)
    return tuple((a, lease) for a, lease in pairs)


# The three calls on the path of every client call, each `(state, body) -> answer`: served on the
# allocation channel (internal/channel.py) and, the same, on the plain HTTP routes below.


async def allocate(state: State, body: Any) -> dict:
    """An account and its lease for `{api_key, capability, model, formats, prefer, exclude,
    release, retry, session, session_lookup}`; the leases in `release` are released before the
    pick; `retry` marks another attempt of a client call already let through (the key's limits do
    not count it again); `session` names the call's sticky session (allocation/sticky.py)."""
    api_key = _keyed(body)
    formats = body.get("formats")
    session = body.get("session")
    if session is not None and not valid_session(session):
        raise InvalidRequest("session must be a string of at most 128 characters", param="session")
    return await state.allocator.allocate(
        AllocationRequest(
            api_key=api_key,
            capability=body.get("capability") or "chat",
            model=body.get("model"),
            formats=tuple(formats) if formats else None,
            exclude=frozenset(body.get("exclude") or ()),
            release=_leases(body, "release"),
            prefer=tuple(body.get("prefer") or ()),
            retry=body.get("retry") is True,
            session=session,
            session_lookup=body.get("session_lookup") is not False,
        )
    )


async def settle_leases(state: State, body: Any) -> dict:
    """`{release: [[account_id, lease_id]...], renew: [...]}` → `{renewed}`: the proxy releases
    every attempt's lease the moment it ends, and renews those still running (a long stream) before
    their short TTL runs out. Batched: one call carries many leases."""
    if not isinstance(body, dict):
        raise InvalidRequest("body must be a JSON object", param="release")
    renewed = await state.picker.settle(release=_leases(body, "release"), renew=_leases(body, "renew"))
    return {"renewed": renewed}


async def list_models(state: State, body: Any) -> dict:
    """`{api_key}` → `{models, any_model}`: the chat models the key's pool can serve, authenticated
    like an allocation (401 unknown key, 403 disabled). The proxy's `/v1/models` and `count_tokens`
    ask it per request."""
    models = await state.allocator.models(_keyed(body))
    return models.as_json()


HOT_CALLS = {"allocate": allocate, "leases": settle_leases, "models": list_models}


def _http(call: Callable[[State, Any], Awaitable[dict]]) -> Callable[[Request], Awaitable[Response]]:
    """The HTTP form of a hot call: a plain Starlette endpoint (no FastAPI dependency solving or
    validation, both measurable per call)."""

    async def endpoint(request: Request) -> Response:
        await require_service_token(request)
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise InvalidRequest("body must be a JSON object", param="body") from exc
        answer = await call(request.app.state, body)
        return Response(orjson.dumps(answer), media_type="application/json")

    return endpoint


allocation_route = Route("/internal/v1/allocations", _http(allocate), methods=["POST"])
models_route = Route("/internal/v1/models", _http(list_models), methods=["POST"])
leases_route = Route("/internal/v1/leases", _http(settle_leases), methods=["POST"])


class RenewedCredentials(BaseModel):
    expires_at: datetime | None = None
    secrets: dict[str, str] = Field(
        default_factory=dict, description="access_token, refresh_token, sessionid"
    )
    settings: dict[str, str] = Field(default_factory=dict, description="profile_arn")


class UsageLimits(BaseModel):
    """kiro: what `getUsageLimits` said the account has left."""

    remaining: float = Field(ge=0)
    limit: float = Field(gt=0)
    resets_at: datetime | None = None
    read_at: datetime


class CredentialCheck(BaseModel):
    """What one credential check found: a Kiro refresh, a Dreamina revalidation or browser login."""

    kind: Literal["refresh", "revalidation", "login"]
    ok: bool
    reason: str | None = Field(default=None, max_length=500)
    checked_at: datetime
    credits: int | None = Field(default=None, description="dreamina: total credits the upstream reported")
    credits_read_at: datetime | None = None
    usage_limits: UsageLimits | None = None


class CredentialVerdict(BaseModel):
    status: Literal["invalid"]
    reason: str = Field(min_length=1, max_length=500)


@router.get("/accounts/{account_id}/credentials")
async def read_credentials(account_id: UUID, conn: Tx, box: Box) -> JSONResponse:
    return JSONResponse(await credentials.read(conn, box, account_id=account_id))


@router.put("/accounts/{account_id}/credentials")
async def store_credentials(account_id: UUID, body: RenewedCredentials, conn: Tx, box: Box) -> JSONResponse:
    account = await credentials.store_renewed(
        conn,
        box,
        account_id=account_id,
        expires_at=body.expires_at,
        secrets=body.secrets,
        settings=body.settings,
    )
    return JSONResponse({"id": str(account.id), "status": account.status})


@router.post("/accounts/{account_id}/checks")
async def record_check(account_id: UUID, body: CredentialCheck, conn: Tx) -> JSONResponse:
    if (body.credits is None) != (body.credits_read_at is None):
        raise InvalidRequest("credits and credits_read_at go together", param="credits_read_at")
    account = await credentials.record_check(
        conn,
        account_id=account_id,
        kind=body.kind,
        ok=body.ok,
        reason=body.reason,
        checked_at=body.checked_at,
        credits=body.credits,
        credits_read_at=body.credits_read_at,
        usage_limits=None
        if (u := body.usage_limits) is None
        else (u.remaining, u.limit, u.resets_at, u.read_at),
    )
    return JSONResponse({"id": str(account.id), "status": account.status})


@router.post("/accounts/{account_id}/status")
async def set_credential_verdict(account_id: UUID, body: CredentialVerdict, conn: Tx) -> JSONResponse:
    account = await credentials.reject(conn, account_id=account_id, reason=body.reason)
    return JSONResponse({"id": str(account.id), "status": account.status})


@router.post("/accounts/{account_id}/probes")
async def record_probe(
    account_id: UUID,
    body: ProbeReport,
    conn: Tx,
    request: Request,
    picker: LivePicker,
    health: LiveHealth,
) -> ProbeOut:
    """What a probe found; a healthy one brings a cooling or exhausted account back (probes/service.py)."""
    return await probes.record_result(
        conn,
        picker=picker,
        health=health,
        account_id=account_id,
        report=body,
        keep=request.app.state.settings.probe_results_kept,
    )
