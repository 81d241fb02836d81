"""`poolgate proxies list` and `test` (through a real local SOCKS5 proxy to the echo server), and
`poolgate secrets rotate` re-encrypting proxy passwords too; no password is ever printed."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import orjson

from shared.crypto import SecretBox, generate_key
from tests.fakes.egress_proxy import EchoServer, Servers, Socks5Proxy

PASSWORD = "cli-proxy-password"


async def _add_proxy(dsn: str, box: SecretBox, port: int) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        user_id = await conn.fetchval("SELECT id FROM users WHERE username = 'proxied'")
        return str(
            await conn.fetchval(
                "INSERT INTO egress_proxies (user_id, name, scheme, host, port, username, password)"
                " VALUES ($1, 'cli-socks', 'socks5', '127.0.0.1', $2, 'cli', $3) RETURNING id",
                user_id,
                port,
                box.encrypt(PASSWORD),
            )
        )
    finally:
        await conn.close()


async def _password(dsn: str, proxy_id: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT password FROM egress_proxies WHERE id = $1", uuid.UUID(proxy_id))
    finally:
        await conn.close()


def test_list_test_and_rotate(scratch_env, cli, monkeypatch):
    old, new = generate_key(), generate_key()
    monkeypatch.setenv("POOLGATE_SECRET_KEYS", old)
    cli("users", "create", "proxied")
    with Servers() as servers:
        echo = servers.start(EchoServer(ip="192.0.2.44", country="SG"))
        fake = servers.start(Socks5Proxy(auth=("cli", PASSWORD)))
        monkeypatch.setenv("POOLGATE_PROXY_ECHO_URL", echo.url)
        proxy_id = asyncio.run(_add_proxy(scratch_env, SecretBox(old), fake.port))

        listed = cli("proxies", "list", "--user", "proxied")
        assert f"socks5://cli:****@127.0.0.1:{fake.port}" in listed and "not tested" in listed
        tested = orjson.loads(cli("proxies", "test", proxy_id))
        assert tested["ok"] is True and tested["exit_ip"] == "192.0.2.44" and tested["exit_country"] == "SG"
        assert fake.targets == [f"127.0.0.1:{echo.port}"]
        listed = cli("proxies", "list")
        assert "healthy" in listed and "192.0.2.44 SG" in listed
        assert PASSWORD not in listed

    monkeypatch.setenv("POOLGATE_SECRET_KEYS", f"{new},{old}")
    assert cli("secrets", "rotate") == "rotated 0 account(s) and 1 proxy password(s)"
    assert SecretBox(new).decrypt(asyncio.run(_password(scratch_env, proxy_id))) == PASSWORD
