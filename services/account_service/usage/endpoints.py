"""`/api/v1/usage`: totals per key, account, model or user, and time series, from the hourly rollups."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.account_service.deps import CurrentUser, Days, Tx
from services.account_service.usage import service
from services.account_service.usage.schemas import Bucket, By, UsageReport, UsageSeries

router = APIRouter(prefix="/usage", tags=["usage"])

SinceQuery = Annotated[
    str,
    Query(
        max_length=40,
        description="Start: hours or days ago (`24h`, `7d`; at most 99999) or an ISO 8601 time;"
        " rounded down to the hour",
    ),
]
UserQuery = Annotated[str | None, Query(max_length=64, description="Admins only: that user's calls")]
KeyQuery = Annotated[UUID | None, Query(description="Only this API key's calls (yours, unless admin)")]
AccountQuery = Annotated[
    UUID | None, Query(description="Only the calls this account served (yours, unless admin)")
]
ModelQuery = Annotated[str | None, Query(max_length=200, description="Only calls to this model")]


@router.get(
    "",
    summary="Usage totals per API key, account, model or user (admins) since a time",
    description=(
        "Calls, outcomes, tokens, images, video seconds, latency and time to first byte (p50/p95)."
        " A user sees the calls made with their own keys and, per account, every call their accounts"
        " served; an admin sees every call."
    ),
)
async def usage_totals(
    conn: Tx,
    caller: CurrentUser,
    days: Days,
    by: Annotated[By, Query(description="What each group is")] = "key",
    since: SinceQuery = "7d",
    limit: Annotated[int, Query(ge=1, le=1000, description="Groups shown, most requests first")] = 100,
    user: UserQuery = None,
    key_id: KeyQuery = None,
    account_id: AccountQuery = None,
    model: ModelQuery = None,
) -> UsageReport:
    now = days.now()
    return await service.report(
        conn,
        actor=caller,
        by=by,
        since=service.parse_since(since, now=now),
        now=now,
        limit=limit,
        user=user,
        key_id=key_id,
        account_id=account_id,
        model=model,
    )


@router.get(
    "/series",
    summary="Usage per hour or day since a time (the pool you see, or one key, account or model)",
    description=f"Empty hours or days are included; at most {service.MAX_POINTS} points.",
)
async def usage_series(
    conn: Tx,
    caller: CurrentUser,
    days: Days,
    since: SinceQuery = "7d",
    bucket: Annotated[Bucket, Query(description="`day`: the configured day (POOLGATE_TIMEZONE)")] = "hour",
    user: UserQuery = None,
    key_id: KeyQuery = None,
    account_id: AccountQuery = None,
    model: ModelQuery = None,
) -> UsageSeries:
    return await service.series(
        conn,
        actor=caller,
        bucket=bucket,
        since=service.parse_since(since, now=days.now()),
        days=days,
        user=user,
        key_id=key_id,
        account_id=account_id,
        model=model,
    )
