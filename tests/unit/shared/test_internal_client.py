"""The internal API client's answers for what is not account_service answering: a clear 503."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.errors import DependencyUnavailable, NoAccountAvailable
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
        with pytest.raises(DependencyUnavailable) as failed:
            await client.settle_leases(release=[("a", "l")])
        assert failed.value.status_code == 503
        assert failed.value.headers() == {"retry-after": "1"}
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


async def test_account_service_down_is_a_503_that_names_it() -> None:
    server = await serve(lambda _: web.Response())
    url = str(server.make_url(""))
    await server.close()  # nothing listens there any more
    client = InternalClient(url, "token")
    await client.start()
    try:
        with pytest.raises(DependencyUnavailable, match="account_service unreachable"):
            await client.allocate(api_key="pg-k", capability="chat", model="m")
    finally:
        await client.close()


async def test_a_peer_error_is_rebuilt_by_kind_status_and_code() -> None:
    async def account_service(_: web.Request) -> web.Response:
        error = {"kind": "unavailable", "code": "dependency_unavailable", "message": "PostgreSQL is down"}
        return web.json_response({"error": error}, status=503)

    server = await serve(account_service)
    client = InternalClient(str(server.make_url("")), "token")
    await client.start()
    try:
        with pytest.raises(DependencyUnavailable, match="PostgreSQL is down"):
            await client.models("pg-k")
    finally:
        await client.close()
        await server.close()


async def test_a_restarting_account_service_is_waited_for() -> None:
    """Something in front answers for it twice (a rollout), then it is back: the call succeeds."""
    answers = 0

    async def restarting(_: web.Request) -> web.Response:
        nonlocal answers
        answers += 1
        if answers <= 2:
            return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")
        return web.json_response({"models": ["m"], "any_model": False})

    server = await serve(restarting)
    client = InternalClient(str(server.make_url("")), "token", unreachable_wait_s=10)
    await client.start()
    try:
        assert (await client.models("pg-k")).models == ("m",)
        assert answers == 3
    finally:
        await client.close()
        await server.close()


async def test_the_wait_for_an_unreachable_account_service_is_bounded() -> None:
    server = await serve(lambda _: web.Response())
    url = str(server.make_url(""))
    await server.close()
    client = InternalClient(url, "token", unreachable_wait_s=0.3)
    await client.start()
    try:
        with pytest.raises(DependencyUnavailable, match="account_service unreachable"):
            await client.models("pg-k")
    finally:
        await client.close()


async def test_an_answer_from_account_service_itself_is_not_retried() -> None:
    answers = 0

    async def database_down(_: web.Request) -> web.Response:
        nonlocal answers
        answers += 1
        error = {"kind": "unavailable", "code": "dependency_unavailable", "message": "PostgreSQL is down"}
        return web.json_response({"error": error}, status=503)

    server = await serve(database_down)
    client = InternalClient(str(server.make_url("")), "token", unreachable_wait_s=10)
    await client.start()
    try:
        with pytest.raises(DependencyUnavailable):
            await client.models("pg-k")
        assert answers == 1
    finally:
        await client.close()
        await server.close()
