"""Fake webhook receiver: a real HTTP server that records every POST it gets, checks its signature the
way a receiver should (its own HMAC-SHA256, not PoolGate's code), and can answer an error N times.

Run: python -m tests.fakes.webhook_receiver --port 0   (prints "LISTENING <port>")

Any path but `/_fake/...` receives. Control API:
* `POST /_fake/paths/{name}` `{"secret": "whsec_...", "fail_times": 2, "fail_status": 500}`: the
  secret deliveries to `/{name}` are checked with, and how many of them are answered with an error
  before the 200s begin.
* `GET /_fake/requests`: what was received, oldest first: `{path, event, delivery, signature,
  signature_valid, body, answered}`.
* `DELETE /_fake/requests`, `GET /_fake/health`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import orjson
from aiohttp import web

from tests.fakes._control import json_response, main

_PATHS = web.AppKey("paths", dict)
_REQUESTS = web.AppKey("requests", list)
_TOLERANCE_S = 300


def signature_valid(secret: str | None, body: bytes, header: str | None) -> bool:
    if not secret or not header:
        return False
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > _TOLERANCE_S:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


async def _receive(request: web.Request) -> web.Response:
    body = await request.read()
    name = request.path.strip("/")
    script: dict[str, Any] = request.app[_PATHS].setdefault(name, {})
    failing = script.get("fail_times", 0) > 0
    if failing:
        script["fail_times"] -= 1
    answered = script.get("fail_status", 500) if failing else 200
    request.app[_REQUESTS].append(
        {
            "path": request.path,
            "event": request.headers.get("X-PoolGate-Event"),
            "delivery": request.headers.get("X-PoolGate-Delivery"),
            "signature": request.headers.get("X-PoolGate-Signature"),
            "content_type": request.headers.get("Content-Type"),
            "signature_valid": signature_valid(
                script.get("secret"), body, request.headers.get("X-PoolGate-Signature")
            ),
            "body": body.decode(errors="replace"),
            "answered": answered,
        }
    )
    return json_response({"ok": not failing}, status=answered)


async def _set_path(request: web.Request) -> web.Response:
    patch = orjson.loads(await request.read() or b"{}")
    script = request.app[_PATHS].setdefault(request.match_info["name"], {})
    script.update(patch)
    return json_response(script)


async def _requests(request: web.Request) -> web.Response:
    return json_response(request.app[_REQUESTS])


async def _clear(request: web.Request) -> web.Response:
    request.app[_REQUESTS].clear()
    return json_response({"ok": True})


async def _health(request: web.Request) -> web.Response:
    return json_response({"ok": True})


def create_app() -> web.Application:
    app = web.Application()
    app[_PATHS] = {}
    app[_REQUESTS] = []
    app.router.add_post("/_fake/paths/{name}", _set_path)
    app.router.add_get("/_fake/requests", _requests)
    app.router.add_delete("/_fake/requests", _clear)
    app.router.add_get("/_fake/health", _health)
    app.router.add_post("/{tail:.*}", _receive)
    return app


if __name__ == "__main__":
    main(create_app)
