"""Testing a proxy: fetch the echo URL (`POOLGATE_PROXY_ECHO_URL`) through it, and read back the
exit IP and its country; the latency is the whole fetch's."""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter

import aiohttp
import orjson

from shared.egress import EgressSessions, describe_failure, is_proxy_failure


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    latency_ms: float | None = None
    exit_ip: str | None = None
    exit_country: str | None = None
    error: str | None = None


async def probe(url: str, *, echo_url: str, timeout_s: float) -> ProbeResult:
    """One fetch of `echo_url` through the proxy at `url` (a session of its own, closed after)."""
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    sessions = EgressSessions(lambda connector: aiohttp.ClientSession(connector=connector, timeout=timeout))
    started = perf_counter()
    try:
        async with sessions.get(url).get(echo_url, allow_redirects=False) as resp:
            body = await resp.read()
            status = resp.status
    except Exception as exc:
        reason = (
            describe_failure(exc)
            if is_proxy_failure(exc)
            else f"echo URL unreachable ({exc.__class__.__name__})"
        )
        return ProbeResult(ok=False, error=reason)
    finally:
        await sessions.close()
    latency_ms = (perf_counter() - started) * 1000
    if status != 200:
        return ProbeResult(ok=False, latency_ms=latency_ms, error=f"echo URL answered HTTP {status}")
    try:
        echoed = orjson.loads(body)
    except orjson.JSONDecodeError:
        echoed = None
    if not isinstance(echoed, dict) or not isinstance(echoed.get("ip"), str):
        return ProbeResult(ok=False, latency_ms=latency_ms, error="echo URL answered no JSON with an ip")
    country = echoed.get("country") or echoed.get("country_code")
    return ProbeResult(
        ok=True,
        latency_ms=round(latency_ms, 1),
        exit_ip=echoed["ip"][:64],
        exit_country=str(country)[:64] if country else None,
    )
