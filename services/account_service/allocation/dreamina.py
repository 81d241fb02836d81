"""Which Dreamina accounts can take an image or video call, by the model table of their region's site
(shared/dreamina.py), and the 400 for a model no account of the pool can take.

An image model goes only to accounts whose site serves it: an international site refuses the others,
and the CN site silently generates with its default model instead. No per-site table of video models
is known, so any video model goes to any region.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.dreamina import ALL_IMAGE_MODELS, image_regions, serves_image
from shared.errors import InvalidRequest

IMAGE, VIDEO = "image", "video"


def serves(region: str | None, *, capability: str, model: str | None) -> bool:
    if capability == IMAGE:
        return model is None or serves_image(region, model)  # None: any image model
    return capability == VIDEO


def unserved_model(
    capability: str, model: str | None, pool_regions: Iterable[str | None]
) -> InvalidRequest | None:
    """The client's 400 when no Dreamina account of the pool serves this image model: it names the
    model and the regions whose site serves it. None when the pool has no Dreamina account at all
    (nothing is configured: allocation's 503), or for a video call."""
    if capability != IMAGE or model is None:
        return None
    regions = sorted(image_regions(model))
    if not regions:
        return InvalidRequest(
            f"model {model!r} is not a Dreamina image model; known: {', '.join(ALL_IMAGE_MODELS)}",
            param="model",
            code="model_not_found",
        )
    have = sorted({r or "cn" for r in pool_regions})
    if not have:
        return None
    return InvalidRequest(
        f"model {model!r} is served only by Dreamina accounts of region {', '.join(regions)};"
        f" this key's pool has accounts of region {', '.join(have)}",
        param="model",
        code="model_not_found",
    )
