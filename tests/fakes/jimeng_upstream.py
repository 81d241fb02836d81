"""Fake jimeng-api (iptag/jimeng-api 1.6.x), the upstream of Dreamina accounts (reference/dreamina.md §8).

Run: python -m tests.fakes.jimeng_upstream --port 0   (prints "LISTENING <port>")

  POST /v1/images/generations    JSON                     {created, data: [4 × {url | b64_json}]}
  POST /v1/images/compositions   JSON `images` or multipart repeated `images` files (1-10); adds
                                 `input_images` and `composition_type`
  POST /v1/videos/generations    JSON or multipart        {created, data: [{url | b64_json, revised_prompt}]}
  POST /token/check              {token} → {live}
  POST /token/points             Authorization: Bearer t1,t2 → [{token, points: {giftCredit, …}}]
  GET  /ping                     pong
Failures are HTTP 200 `{code, message, data: null}` as the real server sends them: `-2002` for a dead
sessionid (or one used with another region's prefix), `-2009` with no credits, `-1000` for `size`,
`width`, `height`, an unknown ratio or a model the token's site does not serve (the CN site silently
falls back to its default model instead), `-2000` for a missing prompt. A token's prefix picks its
site (`us-`, `hk-`, `jp-`, `sg-`; none = CN); several comma-separated tokens: one is picked at random.

Control: /_fake/jimeng/... (see _jimeng_control.py) sets a sessionid's liveness, credits and home
region, and scripts envelope codes, HTTP 401/429/5xx and delays per sessionid, for its generations or
its token routes; the generic /_fake/config `delay_ms` delays every generation, and /_fake/requests
logs each call with its headers, body (multipart: its fields, and `files`) and, for generations,
`jimeng`: the region and sessionid read from the token, and the model the site generated with.
"""

from __future__ import annotations

import base64
import random
import time
import uuid
from typing import Any

import orjson
from aiohttp import web

from tests.fakes import _jimeng_control
from tests.fakes._control import LOG_ENTRY, STATE, FakeState, json_response, main, new_app, think
from tests.fakes._jimeng_state import (
    DEFAULT_VIDEO_MODEL,
    EXPIRED_MESSAGE,
    GENERATIONS,
    IMAGES_PER_CALL,
    INVALID_PARAMS,
    JIMENG,
    NO_CREDITS_MESSAGE,
    TOKEN_EXPIRED,
    TOKEN_ROUTES,
    VIDEO_RESOLUTIONS,
    Bearer,
    JimengState,
    Refusal,
    check_image_params,
    image_model,
)

# A 1×1 PNG: what `response_format: b64_json` answers.
TINY_PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000185d114090000000049454e44ae426082"
    )
).decode()
_DEFAULT_MESSAGES = {
    -1000: "[请求有误]: bad request",
    -2000: "[参数校验失败]: Params body invalid",
    -2001: "[请求失败]: unknown error (错误码: 9999)",
    -2002: EXPIRED_MESSAGE,
    -2003: "[文件URL无效]: file url invalid",
    -2004: "[文件超出大小]: file too large",
    -2006: "[内容违规]: content blocked",
    -2007: "[图像生成失败]: image generation failed",
    -2008: "[视频生成失败]: video generation failed",
    -2009: NO_CREDITS_MESSAGE,
}
MAX_IMAGES = 10
VIDEO_FILES = frozenset(
    {*(f"image_file_{i}" for i in range(1, 10)), *(f"video_file_{i}" for i in range(1, 4))}
)


def envelope(code: int, message: str) -> web.Response:
    return json_response({"code": code, "message": message, "data": None})


def _scripted(script: dict[str, Any]) -> Refusal | None:
    """The failure a sessionid's script answers instead of the call (None: the call goes on)."""
    if "status" in script:
        return Refusal(
            0, script.get("message", ""), status=script["status"], retry_after=script.get("retry_after")
        )
    if "code" in script:
        return Refusal(
            script["code"], script.get("message") or _DEFAULT_MESSAGES.get(script["code"], "failed")
        )
    return None


def _refused(refusal: Refusal) -> web.Response:
    if refusal.status == 200:
        return envelope(refusal.code, refusal.message)
    headers = {"retry-after": str(refusal.retry_after)} if refusal.retry_after is not None else None
    if refusal.status >= 500:  # a gateway in front of jimeng-api: a text page
        return web.Response(text=refusal.message or f"{refusal.status} upstream error", status=refusal.status)
    return json_response({"error": refusal.message or "refused"}, status=refusal.status, headers=headers)


async def _read(request: web.Request) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The call's fields and files (multipart), logged; fields None when the body is not a JSON object."""
    files: list[dict[str, Any]] = []
    if request.content_type == "multipart/form-data":
        form = await request.post()
        fields: dict[str, Any] | None = {}
        for name, value in form.items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                files.append(
                    {
                        "name": name,
                        "filename": value.filename,
                        "content_type": value.content_type,
                        "size": len(data),
                    }
                )
            else:
                fields[name] = value
        request.app[STATE].log(request, fields, b"")
    else:
        raw = await request.read()
        try:
            fields = orjson.loads(raw)
        except orjson.JSONDecodeError:
            fields = None
        request.app[STATE].log(request, fields, raw)
        fields = fields if isinstance(fields, dict) else None
    if (entry := request.get(LOG_ENTRY)) is not None:
        entry["files"] = files
    return fields, files


def _tokens(request: web.Request) -> list[str]:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return []
    return [t.strip() for t in value.split(",") if t.strip()]


def _images(fields: dict[str, Any]) -> list[dict[str, str]]:
    if fields.get("response_format") == "b64_json":
        return [{"b64_json": TINY_PNG} for _ in range(IMAGES_PER_CALL)]
    return [{"url": f"https://fake-jimeng.invalid/{uuid.uuid4().hex}.png"} for _ in range(IMAGES_PER_CALL)]


def _note(request: web.Request, **facts: Any) -> None:
    if (entry := request.get(LOG_ENTRY)) is not None:
        entry.setdefault("jimeng", {}).update(facts)


def _generations(request: web.Request, fields: dict[str, Any], files: list, bearer: Bearer) -> dict:
    check_image_params(fields)
    model = image_model(bearer.region, fields.get("model"))
    _note(request, model=model)
    request.app[JIMENG].check_credentials(bearer)
    return {"created": int(time.time()), "data": _images(fields)}


def _compositions(request: web.Request, fields: dict[str, Any], files: list, bearer: Bearer) -> dict:
    check_image_params(fields)
    if files:
        count = sum(1 for f in files if f["name"] == "images")
    else:
        images = fields.get("images")
        valid = isinstance(images, list) and all(
            isinstance(i, str) or (isinstance(i, dict) and isinstance(i.get("url"), str)) for i in images
        )
        count = len(images) if valid else 0
    if not 1 <= count <= MAX_IMAGES:
        raise Refusal(INVALID_PARAMS, f"Params body.images invalid: 1 to {MAX_IMAGES} images are required")
    model = image_model(bearer.region, fields.get("model"))
    _note(request, model=model)
    request.app[JIMENG].check_credentials(bearer)
    return {
        "created": int(time.time()),
        "data": _images(fields),
        "input_images": count,
        "composition_type": "multi_image_synthesis",
    }


def _videos(request: web.Request, fields: dict[str, Any], files: list, bearer: Bearer) -> dict:
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise Refusal(INVALID_PARAMS, "Params body.prompt invalid")
    if fields.get("resolution", "720p") not in VIDEO_RESOLUTIONS:
        raise Refusal(-1000, f"[请求有误]: 不支持的分辨率 {fields['resolution']}")
    duration = fields.get("duration")
    if duration is not None and not str(duration).isdigit():
        raise Refusal(INVALID_PARAMS, "Params body.duration invalid")
    unknown_files = [f["name"] for f in files if f["name"] not in VIDEO_FILES]
    if unknown_files:
        raise Refusal(INVALID_PARAMS, f"unexpected file field {unknown_files[0]}")
    _note(request, model=fields.get("model") or DEFAULT_VIDEO_MODEL)
    request.app[JIMENG].check_credentials(bearer)
    item = (
        {"b64_json": TINY_PNG}
        if fields.get("response_format") == "b64_json"
        else {"url": f"https://fake-jimeng.invalid/{uuid.uuid4().hex}.mp4"}
    )
    return {"created": int(time.time()), "data": [{**item, "revised_prompt": prompt}]}


def _generation(produce, *, multipart: bool = True):
    async def handler(request: web.Request) -> web.StreamResponse:
        fields, files = await _read(request)
        tokens = _tokens(request)
        if not tokens:
            return envelope(INVALID_PARAMS, "Params headers.authorization invalid")
        bearer = Bearer.parse(random.choice(tokens))
        _note(request, region=bearer.region, sessionid=bearer.sessionid)
        jimeng: JimengState = request.app[JIMENG]
        script = jimeng.take_script(bearer, GENERATIONS)
        jimeng.token(bearer.sessionid).calls += 1
        delay = request.app[STATE].config["delay_ms"] + script.get("delay_ms", 0)
        if not await think(request, delay):
            return web.Response(status=499)  # nobody is listening any more
        try:
            if refusal := _scripted(script):
                raise refusal
            if fields is None or (files and not multipart):
                raise Refusal(INVALID_PARAMS, "Params body invalid: a JSON object is expected")
            return json_response(produce(request, fields, files, bearer))
        except Refusal as refusal:
            return _refused(refusal)

    return handler


async def _token_script(request: web.Request, bearers: list[Bearer]) -> web.Response | None:
    """What the sessionids' token-route scripts answer instead of the call (None: the call goes on)."""
    for bearer in bearers:
        script = request.app[JIMENG].take_script(bearer, TOKEN_ROUTES)
        if not await think(request, script.get("delay_ms", 0)):
            return web.Response(status=499)
        if refusal := _scripted(script):
            return _refused(refusal)
    return None


async def token_check(request: web.Request) -> web.Response:
    fields, _ = await _read(request)
    token = (fields or {}).get("token")
    if not isinstance(token, str) or not token:
        return envelope(INVALID_PARAMS, "Params body.token invalid")
    bearer = Bearer.parse(token)
    if scripted := await _token_script(request, [bearer]):
        return scripted
    return json_response({"live": request.app[JIMENG].is_live(bearer)})


async def token_points(request: web.Request) -> web.Response:
    await _read(request)
    bearers = [Bearer.parse(token) for token in _tokens(request)]
    if not bearers:
        return envelope(INVALID_PARAMS, "Params headers.authorization invalid")
    if scripted := await _token_script(request, bearers):
        return scripted
    jimeng: JimengState = request.app[JIMENG]
    answer = []
    for bearer in bearers:
        if not jimeng.is_live(bearer):  # the credit call itself fails: the whole request does
            return envelope(TOKEN_EXPIRED, EXPIRED_MESSAGE)
        total = jimeng.token(bearer.sessionid).points
        answer.append(
            {
                "token": bearer.token,
                "points": {"giftCredit": total, "purchaseCredit": 0, "vipCredit": 0, "totalCredit": total},
            }
        )
    return json_response(answer)


async def ping(request: web.Request) -> web.Response:
    return web.Response(text="pong")


class _JimengFakeState(FakeState):
    """Generic fake state whose reset (POST /_fake/reset) also forgets every sessionid."""

    def __init__(self, jimeng: JimengState) -> None:
        super().__init__()
        self.jimeng = jimeng

    def reset(self) -> None:
        super().reset()
        self.jimeng.reset()


def create_app(state: FakeState | None = None, jimeng: JimengState | None = None) -> web.Application:
    jimeng = jimeng or JimengState()
    app = new_app(state or _JimengFakeState(jimeng))
    app[JIMENG] = jimeng
    app.router.add_post("/v1/images/generations", _generation(_generations, multipart=False))
    app.router.add_post("/v1/images/compositions", _generation(_compositions))
    app.router.add_post("/v1/videos/generations", _generation(_videos))
    app.router.add_post("/token/check", token_check)
    app.router.add_post("/token/points", token_points)
    app.router.add_get("/ping", ping)
    _jimeng_control.add_routes(app)
    return app


if __name__ == "__main__":
    main(create_app)
