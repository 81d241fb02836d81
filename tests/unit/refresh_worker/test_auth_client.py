"""The refresh worker's client for the auth hosts carries no cookie from one call to the next."""

from __future__ import annotations

import httpx
from aiohttp.test_utils import TestServer

from services.refresh_worker.app import auth_client
from tests.fakes import openai_upstream

CHAT = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}


async def _cookies_sent(client: httpx.AsyncClient) -> list[str | None]:
    """Two calls to a host that sets a cookie on every answer: the Cookie header each one carried."""
    async with TestServer(openai_upstream.create_app(), host="127.0.0.1") as server:
        base = f"http://localhost:{server.port}"  # a name: cookie jars keep nothing from an IP address
        async with client:
            fake = httpx.AsyncClient(base_url=base)
            config = {"response_headers": {"set-cookie": "lb=first; Path=/"}}
            (await fake.post("/_fake/config", json=config)).raise_for_status()
            for account in ("a", "b"):
                await client.post(
                    f"{base}/v1/chat/completions", json=CHAT, headers={"authorization": account}
                )
            logged = (await fake.get("/_fake/requests")).json()
            await fake.aclose()
    return [r["headers"].get("cookie") for r in logged if r["path"] == "/v1/chat/completions"]


async def test_a_cookie_set_for_one_account_is_not_sent_with_the_next() -> None:
    assert await _cookies_sent(auth_client(5.0)) == [None, None]


async def test_a_plain_client_would_send_it() -> None:
    """The check above can fail: httpx's default jar does carry the cookie."""
    assert await _cookies_sent(httpx.AsyncClient(timeout=5.0)) == [None, "lb=first"]
