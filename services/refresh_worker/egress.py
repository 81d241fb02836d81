"""The worker's HTTP clients for accounts behind an egress proxy: one per proxy URL, made on first
use (httpx speaks HTTP CONNECT and, with socksio, SOCKS5). An account with a proxy is never
refreshed directly: a dead proxy fails the refresh like an unreachable auth host (tried again later)."""

from __future__ import annotations

from collections.abc import Callable

import httpx


class ProxiedClients:
    def __init__(self, make: Callable[[str], httpx.AsyncClient]) -> None:
        self._make = make
        self._clients: dict[str, httpx.AsyncClient] = {}

    def get(self, proxy: str) -> httpx.AsyncClient:
        client = self._clients.get(proxy)
        if client is None or client.is_closed:
            client = self._clients[proxy] = self._make(proxy)
        return client

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
