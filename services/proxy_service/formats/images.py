"""OpenAI's image and video fields as jimeng-api takes them (reference/dreamina.md §1.7, §8.1). Pure.

* An allow-list: `prompt`, `negative_prompt`, `response_format`, `sample_strength`, the model, and the
  size fields; everything else (`n`, `quality`, `background`, `output_format`, `user`, ...) is dropped.
* `model`: empty or `gpt*` → the model configured for the call's `quality` (low, medium, high, else
  auto); any other name is sent as it is.
* `size`: `W:H` → `ratio`; `auto` → `intelligent_ratio: true`; `WxH` → the nearest supported ratio,
  plus `resolution: 4k` when the larger side is at least 4096. Without `size` the native `ratio`,
  `resolution` and `intelligent_ratio` pass. `size`, `width` and `height` never reach jimeng-api (it
  refuses them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shared.dreamina import DEFAULT_VIDEO_MODEL
from shared.errors import InvalidRequest

RATIOS = {
    "1:1": 1.0,
    "4:3": 4 / 3,
    "3:4": 3 / 4,
    "16:9": 16 / 9,
    "9:16": 9 / 16,
    "3:2": 1.5,
    "2:3": 2 / 3,
    "21:9": 7 / 3,
}
_COPIED = ("prompt", "negative_prompt", "response_format", "sample_strength")
_NATIVE_SIZE = ("ratio", "resolution", "intelligent_ratio")
_VIDEO_FIELDS = (
    "prompt",
    "negative_prompt",
    "ratio",
    "resolution",
    "duration",
    "functionMode",
    "file_paths",
    "response_format",
)
VIDEO_FILES = frozenset(
    {*(f"image_file_{i}" for i in range(1, 10)), *(f"video_file_{i}" for i in range(1, 4))}
)
_PIXELS = re.compile(r"(\d{1,6})x(\d{1,6})")
_FOUR_K = 4096
RESPONSE_FORMATS = ("url", "b64_json")
MAX_IMAGES = 10  # jimeng-api takes 1 to 10 input images


@dataclass(frozen=True, slots=True)
class QualityModels:
    """The jimeng model for each OpenAI `quality` when the client names no jimeng model."""

    low: str = "jimeng-4.0"
    medium: str = "jimeng-4.6"
    high: str = "jimeng-5.0"
    auto: str = "jimeng-4.6"

    def model(self, quality: Any) -> str:
        return {"low": self.low, "medium": self.medium, "high": self.high}.get(quality, self.auto)


def image_model(model: Any, quality: Any, models: QualityModels) -> str:
    if model is not None and not isinstance(model, str):
        raise InvalidRequest("`model` must be a string", param="model")
    if not model or not model.strip() or model.strip().lower().startswith("gpt"):
        return models.model(quality)
    return model.strip()


def size_fields(size: Any) -> dict[str, Any]:
    if not isinstance(size, str):
        raise InvalidRequest("`size` must be a string: WxH, W:H or auto", param="size")
    size = size.strip().lower()
    if size == "auto":
        return {"intelligent_ratio": True}
    if size in RATIOS:
        return {"ratio": size}
    pixels = _PIXELS.fullmatch(size)
    if pixels is None or 0 in (int(pixels[1]), int(pixels[2])):
        supported = ", ".join(RATIOS)
        raise InvalidRequest(f"`size` must be WxH, auto or one of the ratios {supported}", param="size")
    width, height = int(pixels[1]), int(pixels[2])
    ratio = min(RATIOS, key=lambda r: abs(RATIOS[r] - width / height))
    return {"ratio": ratio, "resolution": "4k"} if max(width, height) >= _FOUR_K else {"ratio": ratio}


def prompt_of(fields: dict[str, Any]) -> str:
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest("`prompt` is required and must be a non-empty string", param="prompt")
    return prompt


def _response_format(fields: dict[str, Any]) -> None:
    value = fields.get("response_format")
    if value is not None and value not in RESPONSE_FORMATS:
        raise InvalidRequest("`response_format` must be url or b64_json", param="response_format")


def image_fields(fields: dict[str, Any], models: QualityModels) -> dict[str, Any]:
    """The jimeng-api fields of an image call (generations, edits, compositions)."""
    prompt_of(fields)
    _response_format(fields)
    out = {name: fields[name] for name in _COPIED if fields.get(name) is not None}
    out["model"] = image_model(fields.get("model"), fields.get("quality"), models)
    if fields.get("size") is not None:
        out.update(size_fields(fields["size"]))
    else:
        out.update({name: fields[name] for name in _NATIVE_SIZE if fields.get(name) is not None})
    return out


def video_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The jimeng-api fields of a video call; the model defaults to jimeng-api's own default."""
    prompt_of(fields)
    _response_format(fields)
    model = fields.get("model")
    if model is not None and not isinstance(model, str):
        raise InvalidRequest("`model` must be a string", param="model")
    out = {name: fields[name] for name in _VIDEO_FIELDS if fields.get(name) is not None}
    out["model"] = model.strip() if model and model.strip() else DEFAULT_VIDEO_MODEL
    duration = out.get("duration")
    if duration is not None and not _whole_number(duration):
        raise InvalidRequest("`duration` must be a whole number of seconds", param="duration")
    return out


def seconds(fields: dict[str, Any]) -> float | None:
    """The seconds of video a call asks for (None when it leaves them to the model's default)."""
    duration = fields.get("duration")
    return float(duration) if duration is not None and _whole_number(duration) else None


def _whole_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    return isinstance(value, str) and value.isdigit() and int(value) > 0


def image_urls(value: Any) -> list[Any]:
    """A JSON composition's `images`: 1 to 10 URLs (strings or `{url}` objects), passed as given."""
    valid = isinstance(value, list) and all(
        (isinstance(i, str) and i) or (isinstance(i, dict) and isinstance(i.get("url"), str) and i["url"])
        for i in value
    )
    if not valid or not 1 <= len(value) <= MAX_IMAGES:
        raise InvalidRequest(
            f"`images` must be a list of 1 to {MAX_IMAGES} image URLs (strings or {{url}} objects)",
            param="images",
        )
    return value
