"""Storing renewed credentials: a rotated refresh token or a fresh sessionid exists nowhere else, so
the write to account_service is tried hard (5 tries, backing off up to 8 s) while account_service
answers 5xx or cannot be reached; a refusal (4xx) is not tried again."""

from __future__ import annotations

from typing import Any

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from shared.errors import PoolGateError
from shared.internal_client import InternalClient


def _account_service_down(exc: BaseException) -> bool:
    return isinstance(exc, PoolGateError) and exc.status_code >= 500


async def store_credentials(internal: InternalClient, account_id: str, **credentials: Any) -> None:
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_account_service_down),
        stop=stop_after_attempt(5),
        wait=wait_exponential(multiplier=0.5, max=8),
        reraise=True,
    ):
        with attempt:
            await internal.store_credentials(account_id, **credentials)
