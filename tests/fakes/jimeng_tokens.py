"""Fake jimeng-api, its token routes only (reference §8.1): what the refresh worker asks.

Run: python -m tests.fakes.jimeng_tokens --port 0   (prints "LISTENING <port>")

  POST /token/check   {"token": t} → HTTP 200 {"live": bool}
  POST /token/points  Authorization: Bearer t1,t2,... → HTTP 200
                      [{"token", "points": {"giftCredit", "purchaseCredit", "vipCredit", "totalCredit"}}]
                      or, if any of them is dead, jimeng's HTTP-200 envelope
                      {"code": -2002, "message", "data": null}

A token is the sessionid with its region prefix, exactly as the caller sends it: a `us` account's
sessionid registered here as `us-<sid>` is dead when asked about as the bare `<sid>`. Unknown tokens
are dead. Control: `PUT /_fake/jimeng/tokens/{token}` `{"live": bool, "points": int}`,
`DELETE /_fake/jimeng/tokens/{token}`, `POST /_fake/jimeng/fail` `{"status": int | null, "delay_ms": n}`
(every token route answers that HTTP status, or after that delay, until set back), and the generic
`/_fake/requests` log (every call, with its body and headers) and `/_fake/reset`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes._control import FakeState, json_response, main, new_app, read_body

DEAD = {
    "code": -2002,
    "message": "[登录失效]: check login error。请重新获取refresh_token并更新配置",
    "data": None,
}


@dataclass
class TokenState:
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_status: int | None = None
    delay_ms: float = 0

    def reset(self) -> None:
        self.tokens.clear()
        self.fail_status, self.delay_ms = None, 0

    def live(self, token: str) -> bool:
        return bool(self.tokens.get(token, {}).get("live"))


TOKENS = web.AppKey("jimeng_tokens", TokenState)


class _State(FakeState):
    def __init__(self, tokens: TokenState) -> None:
        super().__init__()
        self.tokens = tokens

    def reset(self) -> None:
        super().reset()
        self.tokens.reset()


async def _injected(request: web.Request) -> web.Response | None:
    state = request.app[TOKENS]
    if state.delay_ms:
        await asyncio.sleep(state.delay_ms / 1000)
    if state.fail_status:
        return json_response({"error": "injected failure"}, status=state.fail_status)
    return None


async def _check(request: web.Request) -> web.Response:
    body = await read_body(request)
    failed = await _injected(request)
    if failed:
        return failed
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        return json_response({"code": -2000, "message": "Params body.token invalid", "data": None})
    return json_response({"live": request.app[TOKENS].live(token)})


async def _points(request: web.Request) -> web.Response:
    await read_body(request)
    failed = await _injected(request)
    if failed:
        return failed
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    tokens = [t.strip() for t in value.split(",") if t.strip()] if scheme.lower() == "bearer" else []
    state = request.app[TOKENS]
    if not tokens or not all(state.live(t) for t in tokens):
        return json_response(DEAD)
    answer = []
    for token in tokens:
        total = int(state.tokens[token].get("points", 0))
        answer.append(
            {
                "token": token,
                "points": {"giftCredit": total, "purchaseCredit": 0, "vipCredit": 0, "totalCredit": total},
            }
        )
    return json_response(answer)


async def _put_token(request: web.Request) -> web.Response:
    body = await request.json() if request.can_read_body else {}
    if not isinstance(body, dict) or not isinstance(body.get("live", True), bool):
        return json_response({"error": "body must be {live: bool, points: int}"}, status=400)
    if not isinstance(body.get("points", 0), int):
        return json_response({"error": "points must be an integer"}, status=400)
    token = request.match_info["token"]
    request.app[TOKENS].tokens[token] = {"live": body.get("live", True), "points": body.get("points", 0)}
    return json_response({"token": token, **request.app[TOKENS].tokens[token]})


async def _delete_token(request: web.Request) -> web.Response:
    request.app[TOKENS].tokens.pop(request.match_info["token"], None)
    return json_response({"ok": True})


async def _fail(request: web.Request) -> web.Response:
    body = await request.json()
    state = request.app[TOKENS]
    state.fail_status, state.delay_ms = body.get("status"), body.get("delay_ms", 0)
    return json_response({"status": state.fail_status, "delay_ms": state.delay_ms})


def create_app() -> web.Application:
    tokens = TokenState()
    app = new_app(_State(tokens))
    app[TOKENS] = tokens
    app.router.add_post("/token/check", _check)
    app.router.add_post("/token/points", _points)
    app.router.add_put("/_fake/jimeng/tokens/{token}", _put_token)
    app.router.add_delete("/_fake/jimeng/tokens/{token}", _delete_token)
    app.router.add_post("/_fake/jimeng/fail", _fail)
    return app


if __name__ == "__main__":
    main(create_app)
