"""Running one probe: read the account, ask its upstream the cheapest question, report the result.

The account's credentials are read through the internal API as for a refresh, and the calls go out
on the worker's own HTTP clients: an account behind an egress proxy is probed through it (never
directly), as it is refreshed; a Dreamina account's token carries its proxy to jimeng-api.
Reporting is retried by the broker (a probe is cheap to run again) while account_service cannot be
reached; an account deleted meanwhile is simply not probed."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from services.refresh_worker.dreamina.jimeng import Jimeng
from services.refresh_worker.egress import ProxiedClients
from services.refresh_worker.metrics import probe_result
from services.refresh_worker.probes import custom_api, dreamina, kiro
from services.refresh_worker.probes.result import ProbeResult
from services.refresh_worker.settings import RefreshWorkerSettings
from shared.errors import NotFound
from shared.internal_client import InternalClient
from shared.logging import get_logger
from shared.messages.contracts import AccountProbeRequested

log = get_logger(__name__)


class Prober:
    def __init__(
        self,
        *,
        settings: RefreshWorkerSettings,
        internal: InternalClient,
        http: httpx.AsyncClient,
        upstreams: httpx.AsyncClient,
        jimeng: Jimeng,
        proxied: ProxiedClients,
    ) -> None:
        """`http`: the worker's client for Kiro's hosts; `upstreams`: for a custom API account's own
        `api_base` (upstream_client.py: the SSRF guard); `proxied`: for accounts behind a proxy."""
        self._settings = settings
        self._internal = internal
        self._http = http
        self._upstreams = upstreams
        self._jimeng = jimeng
        self._proxied = proxied

    async def run(self, stored: dict) -> ProbeResult:
        timeout_s = self._settings.probe_timeout_s
        proxy = stored.get("proxy")
        if stored["kind"] == "custom_api":
            client = self._proxied.get(proxy) if proxy else self._upstreams
            return await custom_api.probe(client, stored, timeout_s=timeout_s)
        if stored["kind"] == "kiro":
            client = self._proxied.get(proxy) if proxy else self._http
            return await kiro.probe(
                client, stored, url_template=self._settings.kiro_models_url, timeout_s=timeout_s
            )
        return await dreamina.probe(self._jimeng, stored)

    async def handle(self, event: AccountProbeRequested) -> ProbeResult | None:
        try:
            stored = await self._internal.account_credentials(event.account_id)
        except NotFound:
            log.info("probe.account_gone", account_id=event.account_id)
            return None
        result = await self.run(stored)
        try:
            await self._internal.record_probe(
                event.account_id,
                at=datetime.now(UTC).isoformat(),
                ok=result.ok,
                latency_ms=result.latency_ms,
                status=result.status,
                method=result.method,
                detail=result.detail,
            )
        except NotFound:
            return None
        probe_result(stored["kind"], "ok" if result.ok else "failed")
        log.info(
            "probe.done",
            account_id=event.account_id,
            kind=stored["kind"],
            ok=result.ok,
            method=result.method,
            status=result.status,
            latency_ms=result.latency_ms,
        )
        return result
