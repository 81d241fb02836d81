"""The image and video APIs, served by Dreamina accounts through jimeng-api; each is one
`Relay.handle` (OpenAI's error shape, never streamed).

* `POST /v1/images/generations`: OpenAI's JSON.
* `POST /v1/images/edits`: OpenAI's multipart, sent as jimeng-api's compositions.
* `POST /v1/images/compositions`: jimeng-api's (JSON with image URLs, or multipart files).
* `POST /v1/videos/generations`: jimeng-api's (JSON, or multipart with frame and video files).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.proxy_service.formats.client_format import MEDIA_FORMATS, ClientFormat


def _endpoint(fmt: ClientFormat):
    async def endpoint(request: Request) -> Response:
        return await request.app.state.relay.handle(request, fmt)

    endpoint.__name__ = fmt.route.strip("/").replace("/", "_")
    return endpoint


routes = [Route(fmt.route, _endpoint(fmt), methods=["POST"]) for fmt in MEDIA_FORMATS]
