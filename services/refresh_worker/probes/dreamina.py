"""A Dreamina account's probe: the liveness call the revalidation makes (`/token/check` on the
jimeng-api server), which spends no credits."""

from __future__ import annotations

import time
from typing import Any

from services.refresh_worker.dreamina.jimeng import Jimeng, JimengUnavailable
from services.refresh_worker.probes.result import ProbeResult, redacted

METHOD = "liveness"


async def probe(jimeng: Jimeng, stored: dict[str, Any]) -> ProbeResult:
    token = stored.get("upstream_credential")
    if not token:
        return ProbeResult(ok=False, method=METHOD, detail="no sessionid yet")
    started = time.perf_counter()
    try:
        live = await jimeng.is_live(token)
    except JimengUnavailable as exc:
        return ProbeResult(ok=False, method=METHOD, detail=redacted(exc.reason, token))
    latency_ms = round((time.perf_counter() - started) * 1000)
    return ProbeResult(
        ok=live,
        method=METHOD,
        status=200,
        latency_ms=latency_ms,
        detail=None if live else "the sessionid is no longer live",
    )
