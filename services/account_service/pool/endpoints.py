"""`/api/v1/pool/health`: how much of the pool can serve now, per kind and model, and why not."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request

from services.account_service.deps import Box, CurrentUser, LivePicker, Tx
from services.account_service.pool.schemas import PoolHealth
from services.account_service.pool.service import pool_health

router = APIRouter(prefix="/pool", tags=["pool"])


@router.get(
    "/health",
    summary="How many accounts can serve now, per kind and model, and why the others cannot",
    description="An account can serve when it is active, its credential has not expired, it has a "
    "weight, and it is neither cooling down nor at its concurrency cap (allocation's own tests, in "
    "this order; each account that cannot is counted under the first reason). A user sees their own "
    "pool: their accounts, plus the public accounts of others when the public pool is on. Admins see "
    "the whole pool, or one user's with `user_id`. While Redis is unreachable, cooling and full are "
    "what this replica knows.",
)
async def get_pool_health(
    request: Request,
    conn: Tx,
    box: Box,
    picker: LivePicker,
    caller: CurrentUser,
    user_id: Annotated[
        UUID | None, Query(description="Admins: this user's pool (a user may name only themselves)")
    ] = None,
) -> PoolHealth:
    return await pool_health(
        conn,
        box,
        picker,
        actor=caller,
        user_id=user_id,
        public_pool=request.app.state.settings.public_pool,
    )
