"""The proxy's half of the SSRF guard (see shared/netguard.py): a resolver that drops internal
addresses, so an upstream host name that resolves inward after it was checked (DNS rebinding)
still cannot be reached. Literal IPs never reach a resolver; account_service refuses internal ones
when the account is saved."""

from __future__ import annotations

import socket
from typing import Any

from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from shared.netguard import is_internal


class InternalAddressRefused(OSError):
    pass


class GuardedResolver(AbstractResolver):
    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        found = await self._inner.resolve(host, port, family)
        public = [entry for entry in found if not is_internal(entry["host"])]
        if not public:
            raise InternalAddressRefused(f"{host} resolves only to internal addresses")
        return public

    async def close(self) -> None:
        await self._inner.close()
