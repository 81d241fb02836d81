"""The fake jimeng-api's state: what it knows of each sessionid, and the rules of the real server
(reference/dreamina.md §8) that decide an answer before any image is "generated".

A token as jimeng-api reads it: `[<region>-]<sessionid>`, the prefix (any case) picking the site (none =
CN). The fake keys everything by the sessionid without that prefix, so a test scripts an account by its
stored sessionid whatever prefix the proxy adds; a sessionid registered with a home region is refused
(`-2002`, as Dreamina's `check login error`) when it arrives with another region's prefix.

A sessionid the fake was never told about is live with credits (what the proxy's tests want:
any account serves), or dead as a made-up one is on the real server (`JimengState(unknown_live=False)`,
what the refresh worker's revalidation tests want: an account is dead unless a test says otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PREFIXES = ("us", "hk", "jp", "sg")
# The image models each site serves (jimeng-api `src/api/consts/common.ts`, as the reference lists them).
_INTERNATIONAL = (
    "jimeng-5.0", "jimeng-4.6", "jimeng-4.5", "jimeng-4.1", "jimeng-4.0", "jimeng-3.0", "nanobanana",
    "nanobananapro",
)  # fmt: skip
SITE_MODELS = {
    "cn": ("jimeng-5.0", "jimeng-4.6", "jimeng-4.5", "jimeng-4.1", "jimeng-4.0", "jimeng-3.1", "jimeng-3.0"),
    "us": ("jimeng-4.5", "jimeng-4.1", "jimeng-4.0", "jimeng-3.0", "nanobanana", "nanobananapro"),
    "hk": _INTERNATIONAL,
    "jp": _INTERNATIONAL,
    "sg": _INTERNATIONAL,
}
DEFAULT_IMAGE_MODEL = "jimeng-4.5"
DEFAULT_VIDEO_MODEL = "jimeng-video-3.5-pro"
RATIOS = ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "21:9")
RESOLUTIONS = ("1k", "2k", "4k")
VIDEO_RESOLUTIONS = ("720p", "1080p")
IMAGES_PER_CALL = 4

# Envelope codes (jimeng-api `src/api/consts/exceptions.ts`).
BAD_REQUEST, INVALID_PARAMS, FAILED, TOKEN_EXPIRED, NO_CREDITS = -1000, -2000, -2001, -2002, -2009
EXPIRED_MESSAGE = "[登录失效]: check login error。请重新获取refresh_token并更新配置"
NO_CREDITS_MESSAGE = "[积分不足]: 积分不足且无法自动收取，请检查账号积分"


class Refusal(Exception):
    """An answer other than the generation: an HTTP-200 envelope, or an injected HTTP status."""

    def __init__(self, code: int, message: str, *, status: int = 200, retry_after: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after


@dataclass
class Token:
    live: bool = True
    points: float = 100.0
    region: str | None = None  # the site it was registered on; None: any prefix is fine
    script: dict[str, Any] = field(default_factory=dict)  # the next answers: code/status/delay/times/routes
    calls: int = 0  # generation calls made with it

    def view(self) -> dict[str, Any]:
        return {
            "live": self.live,
            "points": self.points,
            "region": self.region,
            "script": self.script,
            "calls": self.calls,
        }


@dataclass(frozen=True)
class Bearer:
    """One token of an Authorization header, read as jimeng-api reads it."""

    token: str
    region: str  # the site its prefix picks: cn without one
    sessionid: str

    @classmethod
    def parse(cls, token: str) -> Bearer:
        lowered = token.lower()
        for prefix in PREFIXES:
            if lowered.startswith(f"{prefix}-"):
                return cls(token, prefix, token[len(prefix) + 1 :])
        return cls(token, "cn", token)


GENERATIONS, TOKEN_ROUTES = "generations", "token"  # what a script answers: `routes`


class JimengState:
    def __init__(self, *, unknown_live: bool = True) -> None:
        self.tokens: dict[str, Token] = {}
        self.unknown_live = unknown_live

    def reset(self) -> None:
        self.tokens.clear()

    def token(self, sessionid: str) -> Token:
        if sessionid not in self.tokens:
            self.tokens[sessionid] = Token(live=self.unknown_live)
        return self.tokens[sessionid]

    def is_live(self, bearer: Bearer) -> bool:
        token = self.token(bearer.sessionid)
        return token.live and token.region in (None, bearer.region)

    def take_script(self, bearer: Bearer, routes: str) -> dict[str, Any]:
        """The script that applies to this call on `routes` (or {}), one of its `times` used up."""
        token = self.token(bearer.sessionid)
        script = token.script
        if not script or script.get("routes", GENERATIONS) != routes:
            return {}
        times = script.get("times")
        if times is not None:
            if times <= 1:
                token.script = {}
            else:
                script["times"] = times - 1
        return script

    def check_credentials(self, bearer: Bearer) -> None:
        """What jimeng-api learns before generating: a dead session, or no credits it can claim."""
        if not self.is_live(bearer):
            raise Refusal(TOKEN_EXPIRED, EXPIRED_MESSAGE)
        if self.token(bearer.sessionid).points <= 0:
            raise Refusal(NO_CREDITS, NO_CREDITS_MESSAGE)


JIMENG = web.AppKey("jimeng_state", JimengState)


def image_model(site: str, requested: Any) -> str:
    """The model a site generates with: the CN site falls back to its default for an unknown name,
    the international ones refuse it."""
    model = requested if isinstance(requested, str) and requested else DEFAULT_IMAGE_MODEL
    if model in SITE_MODELS[site]:
        return model
    if site == "cn":
        return DEFAULT_IMAGE_MODEL
    supported = ", ".join(SITE_MODELS[site])
    raise Refusal(BAD_REQUEST, f'[请求有误]: 国际版不支持模型 "{model}"。支持的模型: {supported}')


def check_image_params(fields: dict[str, Any]) -> None:
    for refused in ("size", "width", "height"):
        if refused in fields:
            raise Refusal(BAD_REQUEST, f"[请求有误]: 不支持的参数 {refused}，请使用 ratio 和 resolution")
    if not isinstance(fields.get("prompt"), str) or not fields["prompt"].strip():
        raise Refusal(INVALID_PARAMS, "Params body.prompt invalid")
    if fields.get("ratio", "1:1") not in RATIOS:
        raise Refusal(BAD_REQUEST, f"[请求有误]: 不支持的比例 {fields['ratio']}，支持: {', '.join(RATIOS)}")
    if fields.get("resolution", "2k") not in RESOLUTIONS:
        raise Refusal(BAD_REQUEST, f"[请求有误]: 不支持的分辨率 {fields['resolution']}")
