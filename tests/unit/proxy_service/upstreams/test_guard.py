"""The proxy's connect-time SSRF guard, on real aiohttp connectors (loopback only: nothing leaves the
machine, and a refused address is never connected to)."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver

from services.proxy_service.app import upstream_session
from services.proxy_service.relay.outcome import exception_error, exception_outcome
from services.proxy_service.settings import ProxySettings
from services.proxy_service.upstreams.guard import UpstreamAddressRefused, address_refused, guarded_socket


def _info(address: str, family: int = socket.AF_INET) -> Any:
    return (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, 443))


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "100.100.100.200", "169.254.169.254"])
def test_the_socket_factory_refuses_internal_ipv4(address):
    with pytest.raises(UpstreamAddressRefused):
        guarded_socket(_info(address))


@pytest.mark.parametrize("address", ["::1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::"])
def test_the_socket_factory_refuses_internal_ipv6(address):
    with pytest.raises(UpstreamAddressRefused):
        guarded_socket(_info(address, socket.AF_INET6))


def test_the_socket_factory_makes_a_socket_for_a_public_address():
    sock = guarded_socket(_info("8.8.8.8"))
    try:
        assert sock.family == socket.AF_INET
    finally:
        sock.close()


async def _post(session: aiohttp.ClientSession, url: str) -> BaseException:
    try:
        async with session.post(url, data=b"{}"):
            pass
    except aiohttp.ClientError as exc:
        return exc
    raise AssertionError("the call went through")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/v1/chat/completions", "http://localhost:9/v1"])
async def test_the_upstream_session_refuses_literal_ips_and_names_that_resolve_inward(url):
    session = upstream_session(ProxySettings(allow_private_upstreams=False))
    try:
        exc = await _post(session, url)
    finally:
        await session.close()
    assert address_refused(exc)
    assert exception_outcome(exc) == "connect_error"  # recorded as a connect error: another account is tried
    error = exception_error(exc)
    assert (error.status_code, error.code) == (502, "upstream_address_refused")


async def test_with_private_upstreams_allowed_the_session_connects_inward():
    session = upstream_session(ProxySettings(allow_private_upstreams=True))
    try:
        exc = await _post(session, "http://127.0.0.1:9/v1")  # nothing listens on the discard port
    finally:
        await session.close()
    assert not address_refused(exc)
    assert exception_error(exc).code is None


class _Rebinding(AbstractResolver):
    """A name that answered with a public address when it was saved and now points inward."""

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        entry = {"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET}
        return [entry | {"proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        pass


async def test_a_name_rebound_to_an_internal_address_is_refused_when_the_socket_connects():
    connector = aiohttp.TCPConnector(resolver=_Rebinding(), socket_factory=guarded_socket)
    async with aiohttp.ClientSession(connector=connector) as session:
        exc = await _post(session, "http://api.rebinding.test:9/v1")
    assert address_refused(exc)
