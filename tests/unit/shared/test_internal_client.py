"""The internal API client's answers for what is not account_service answering: a clear 503."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.errors import NoAccountAvailable, UpstreamError
from shared.internal_client import InternalClient


async def serve(handler) -> TestServer:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = TestServer(app)
    await server.start_server()
    return server


async def test_an_html_error_page_in_front_of_account_service_is_a_503() -> None:
    async def gateway(_: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")

    server = await serve(gateway)
    client = InternalClient(str(server.make_url("")), "token")
    await client.start()
    try:
        with pytest.raises(UpstreamError) as failed:
            await client.settle_leases(release=[("a", "l")])
        assert failed.value.status_code == 503
    finally:
        await client.close()
        await server.close()


async def test_an_allocation_carries_its_releases_and_preferences() -> None:
    seen: list[dict] = []

    async def account_service(request: web.Request) -> web.Response:
        seen.append(await request.json())
        error = {"kind": "unavailable", "code": "no_account_available", "message": "all busy"}
        return web.json_response({"error": error}, status=503)

    server = await serve(account_service)
    client = InternalClient(str(server.make_url("")), "token")
    await client.start()
    try:
        with pytest.raises(NoAccountAvailable):
            await client.allocate(
                api_key="pg-k",
                capability="chat",
                model="m",
                formats=["openai", "claude"],
                prefer=["openai"],
                release=[("acc", "lease")],
            )
    finally:
        await client.close()
        await server.close()
    assert seen[0]["prefer"] == ["openai"] and seen[0]["release"] == [["acc", "lease"]]
