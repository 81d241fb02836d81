"""A bare relay: the least a Python HTTP relay costs on this machine, measured beside the proxy.

aiohttp server and client in one process, forwarding each POST body to one upstream with the
client's `Authorization` and answering the upstream's status and bytes: no allocation, no
accounting, no conversion, no checks. `python -m bench` runs the non-streaming OpenAI loads through
it too (`relay` runs), so the table shows how much of what the proxy adds any relay pays on a box
whose two cores also run wrk and the fake upstream.

Run: python -m bench.bare_relay --upstream http://127.0.0.1:PORT --port 0   (prints "LISTENING <port>")
"""

from __future__ import annotations

import argparse
import sys

import aiohttp
from aiohttp import web

from tests.fakes._control import main


def create_app(upstream: str) -> web.Application:
    async def relay(request: web.Request) -> web.Response:
        session: aiohttp.ClientSession = request.app[SESSION]
        headers = {"Content-Type": "application/json", "Authorization": request.headers["Authorization"]}
        asked = await request.read()
        async with session.post(upstream + request.path, data=asked, headers=headers) as answer:
            answered = await answer.read()
        return web.Response(body=answered, status=answer.status, content_type="application/json")

    async def session_context(app: web.Application):
        app[SESSION] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        yield
        await app[SESSION].close()

    app = web.Application()
    app.cleanup_ctx.append(session_context)
    app.router.add_post("/{path:.*}", relay)
    return app


SESSION = web.AppKey("session", aiohttp.ClientSession)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--upstream", required=True)
    known, rest = parser.parse_known_args(sys.argv[1:])
    main(lambda: create_app(known.upstream), rest)
