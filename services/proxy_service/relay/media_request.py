"""An image or video call, read once: its key, the jimeng-api fields it maps to, and the upstream body
encoded once, so every attempt (another account after a failure) re-sends the same bytes.

* `POST /v1/images/generations`: JSON.
* `POST /v1/images/edits`: OpenAI's multipart (`image` or `image[]` files, repeated; `mask` dropped),
  sent as jimeng-api's compositions with repeated `images` files.
* `POST /v1/images/compositions`: JSON with `images` URLs, or multipart with `images` files.
* `POST /v1/videos/generations`: JSON, or multipart with `image_file_1..9` / `video_file_1..3`.

The body is limited by the body guard (413 beyond `max_body_bytes`) before it is parsed.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from services.proxy_service.formats import images
from services.proxy_service.formats.client_format import (
    IMAGE_COMPOSITIONS,
    IMAGE_EDITS,
    IMAGE_GENERATIONS,
    ClientFormat,
)
from services.proxy_service.relay.request import json_object, read_headers
from shared.errors import InvalidRequest, Unauthenticated

_JSON = "application/json"
_MULTIPART = "multipart/form-data"
_EDIT_FILES = ("image", "image[]")
_MAX_FILES = 16  # 10 images, or 9 image and 3 video files, and a little room for a mask
_MAX_FIELDS = 64
File = tuple[str, str, str, bytes]  # (field, filename, content type, bytes)


class MediaRequest:
    """Duck-types `ClientRequest` where the relay reads it (`api_key`, `model`, `stream`)."""

    __slots__ = ("api_key", "body", "content_type", "fields", "model", "stream", "video_seconds")

    def __init__(
        self,
        *,
        api_key: str,
        fields: dict[str, Any],
        body: bytes,
        content_type: str,
        video_seconds: float | None,
    ) -> None:
        self.api_key = api_key
        self.fields = fields  # the jimeng-api fields (no files)
        self.model: str = fields["model"]
        self.body = body
        self.content_type = content_type
        self.video_seconds = video_seconds
        self.stream = False


class MediaReader:
    """Reads the media routes' calls; built once with the quality → model table."""

    def __init__(self, models: images.QualityModels) -> None:
        self._models = models

    async def __call__(self, request: Request, fmt: ClientFormat) -> MediaRequest:
        api_key = read_headers(request.scope["headers"]).api_key
        if api_key is None:
            raise Unauthenticated("missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`")
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type == _MULTIPART and fmt is IMAGE_GENERATIONS:
            raise InvalidRequest("images/generations takes a JSON body")
        if media_type == _MULTIPART:
            fields, files = await _form(request)
        elif fmt is IMAGE_EDITS:
            raise InvalidRequest("images/edits takes multipart/form-data with `image` files and a `prompt`")
        else:
            fields, files = json_object(await request.body()), []
        return await _encode(api_key, self._jimeng(fmt, fields, files))

    def _jimeng(
        self, fmt: ClientFormat, fields: dict[str, Any], files: list[File]
    ) -> tuple[dict, list[File]]:
        if fmt.capability == "video":
            return images.video_fields(fields), [f for f in files if f[0] in images.VIDEO_FILES]
        jimeng = images.image_fields(fields, self._models)
        if fmt is IMAGE_EDITS:
            files = [("images", *rest) for name, *rest in files if name in _EDIT_FILES]
            if not files:
                raise InvalidRequest("images/edits needs at least one `image` file", param="image")
        elif fmt is IMAGE_COMPOSITIONS:
            files = [f for f in files if f[0] in ("images", "images[]")]
            files = [("images", *rest) for _, *rest in files]
            if not files:
                jimeng["images"] = images.image_urls(fields.get("images"))
        else:
            files = []
        if len(files) > images.MAX_IMAGES:
            raise InvalidRequest(f"at most {images.MAX_IMAGES} images may be sent", param="image")
        return jimeng, files


async def _form(request: Request) -> tuple[dict[str, Any], list[File]]:
    try:
        form = await request.form(max_files=_MAX_FILES, max_fields=_MAX_FIELDS)
    except (HTTPException, MultiPartException) as exc:  # a malformed body (HTTPException inside an app)
        detail = exc.detail if isinstance(exc, HTTPException) else exc.message
        raise InvalidRequest(f"the multipart body could not be read: {detail}") from None
    fields: dict[str, Any] = {}
    files: list[File] = []
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                content_type = value.content_type or "application/octet-stream"
                files.append((name, value.filename or name, content_type, await value.read()))
            else:
                fields.setdefault(name, value)
    finally:
        await form.close()
    return fields, files


async def _encode(api_key: str, jimeng: tuple[dict[str, Any], list[File]]) -> MediaRequest:
    fields, files = jimeng
    video_seconds = images.seconds(fields)
    if not files:
        return MediaRequest(
            api_key=api_key,
            fields=fields,
            body=orjson.dumps(fields),
            content_type=_JSON,
            video_seconds=video_seconds,
        )
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        form.add_field(name, value if isinstance(value, str) else orjson.dumps(value).decode())
    for name, filename, content_type, data in files:
        form.add_field(name, data, filename=filename, content_type=content_type)
    writer = form()
    return MediaRequest(
        api_key=api_key,
        fields=fields,
        body=await writer.as_bytes(),
        content_type=writer.content_type,
        video_seconds=video_seconds,
    )
