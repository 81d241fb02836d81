"""Recording what a credential check found on the account, with the credits read for it.

Best effort: a record is shown beside the account and never acted upon, so a failure to write it
(account_service away) or to read the credits (jimeng-api away) is logged and the check goes on.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.refresh_worker.dreamina.jimeng import Jimeng, JimengUnavailable
from shared.errors import PoolGateError
from shared.internal_client import InternalClient
from shared.logging import get_logger

log = get_logger(__name__)


class Checks:
    def __init__(self, internal: InternalClient, jimeng: Jimeng) -> None:
        self._internal = internal
        self._jimeng = jimeng

    async def record(
        self, account_id: str, kind: str, ok: bool, reason: str, *, credits_of: str | None = None
    ) -> None:
        """`credits_of`: the upstream token whose credits to read and keep with the check."""
        credits = read_at = None
        if credits_of:
            try:
                credits = await self._jimeng.credits(credits_of)
                read_at = datetime.now(UTC).isoformat()
            except JimengUnavailable as exc:
                log.warning("dreamina.credits_unread", account_id=account_id, reason=exc.reason)
        try:
            await self._internal.record_check(
                account_id,
                kind=kind,
                ok=ok,
                reason=reason[:500],
                checked_at=datetime.now(UTC).isoformat(),
                credits=credits,
                credits_read_at=read_at,
            )
        except PoolGateError as exc:
            log.warning("dreamina.check_unrecorded", account_id=account_id, error=exc.message)
