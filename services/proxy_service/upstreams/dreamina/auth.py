"""The upstream `Authorization` of a Dreamina account: `Bearer <sessionid with its region prefix>`
(shared/dreamina.py's rule). A sessionid that already carries another region's short prefix is sent
as it is, and said so once per account in the log (the prefix only, never the sessionid)."""

from __future__ import annotations

from functools import lru_cache

from shared.dreamina import foreign_prefix, jimeng_token
from shared.internal_client import Allocation
from shared.logging import get_logger

log = get_logger(__name__)


def authorization(allocation: Allocation) -> str:
    region = allocation.upstream.region or allocation.region or "cn"  # legacy data: no region is cn
    sessionid = allocation.upstream.credential
    prefix = foreign_prefix(region, sessionid)
    if prefix is not None:
        _note_foreign_prefix(allocation.account_id, region, prefix)
    return f"Bearer {jimeng_token(region, sessionid, allocation.upstream.proxy)}"


@lru_cache(maxsize=4096)  # the cache is the "once": a repeat call with the same arguments does nothing
def _note_foreign_prefix(account_id: str, region: str, prefix: str) -> None:
    log.warning(
        "proxy.dreamina_foreign_prefix",
        account_id=account_id,
        region=region,
        prefix=prefix,
        detail="the stored sessionid carries another short prefix; it is sent as it is",
    )
