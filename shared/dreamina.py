"""Dreamina facts both account_service and proxy_service need (reference/dreamina.md §1.3, §8.1, §8.3).

* The sessionid jimeng-api expects: `cn` → raw; any other region → `<region>-<sessionid>` unless it
  already carries that prefix, or another short prefix, which is trusted and left as it is (the
  caller logs it, without the secret).
* Which image models each region's site serves. jimeng-api answers a model an international site
  does not serve with an error, and the CN site silently generates with its default instead, so
  allocation never sends a model to an account whose site does not list it. No per-site table of
  video models is known: any video model goes to any region.
"""

from __future__ import annotations

import re

REGIONS = ("us", "hk", "jp", "sg", "cn")

# jimeng-api (`src/api/consts/common.ts`): the image models of each site.
_SOUTHEAST = (
    "jimeng-5.0",
    "jimeng-4.6",
    "jimeng-4.5",
    "jimeng-4.1",
    "jimeng-4.0",
    "jimeng-3.0",
    "nanobanana",
    "nanobananapro",
)
IMAGE_MODELS: dict[str, tuple[str, ...]] = {
    "cn": ("jimeng-5.0", "jimeng-4.6", "jimeng-4.5", "jimeng-4.1", "jimeng-4.0", "jimeng-3.1", "jimeng-3.0"),
    "us": ("jimeng-4.5", "jimeng-4.1", "jimeng-4.0", "jimeng-3.0", "nanobanana", "nanobananapro"),
    "hk": _SOUTHEAST,
    "jp": _SOUTHEAST,
    "sg": _SOUTHEAST,
}
ALL_IMAGE_MODELS = tuple(dict.fromkeys(m for models in IMAGE_MODELS.values() for m in models))
DEFAULT_IMAGE_MODEL = "jimeng-4.5"  # jimeng-api's own default
DEFAULT_VIDEO_MODEL = "jimeng-video-3.5-pro"

# A short prefix some tool already put in front of the sessionid (`us-…` on an `hk` account, say).
_SHORT_PREFIX = re.compile(r"[A-Za-z]{1,3}-")


def foreign_prefix(region: str, sessionid: str) -> str | None:
    """The short prefix other than `<region>-` the sessionid already carries, if any (never for cn)."""
    if region == "cn":
        return None
    found = _SHORT_PREFIX.match(sessionid)
    if found is None or found.group().lower() == f"{region}-":
        return None
    return found.group()


def upstream_sessionid(region: str, sessionid: str) -> str:
    """The credential jimeng-api expects; idempotent, never prefixed twice."""
    if region == "cn" or _SHORT_PREFIX.match(sessionid):
        return sessionid
    return f"{region}-{sessionid}"


def jimeng_token(region: str, sessionid: str, proxy: str | None = None) -> str:
    """The token jimeng-api takes: `[proxyURL@][region-]sessionid`, the proxy being the account's
    egress proxy (jimeng-api then makes the account's Dreamina calls through it)."""
    token = upstream_sessionid(region, sessionid)
    return f"{proxy}@{token}" if proxy else token


def image_model(model: str) -> str:
    """A model name as the tables spell it (they are lower case)."""
    return model.strip().lower()


def serves_image(region: str | None, model: str | None) -> bool:
    return model is not None and image_model(model) in IMAGE_MODELS.get(region or "cn", ())


def image_regions(model: str) -> tuple[str, ...]:
    """The regions whose site serves this image model (none for an unknown name)."""
    name = image_model(model)
    return tuple(region for region in REGIONS if name in IMAGE_MODELS[region])
