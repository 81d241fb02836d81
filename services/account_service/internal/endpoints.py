from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from services.account_service.allocation.service import AllocationRequest
from services.account_service.deps import AllocatorDep, ServiceCaller
from shared.errors import InvalidRequest

router = APIRouter(prefix="/internal/v1", dependencies=[ServiceCaller])


@router.post("/allocations")
async def allocate(request: Request, allocator: AllocatorDep) -> Response:
    # Hot path: parsed by hand with orjson, no pydantic model (see DESIGN.md §9).
    try:
        body = orjson.loads(await request.body())
        api_key = body["api_key"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise InvalidRequest("body must be a JSON object with api_key", param="api_key") from exc
    if not isinstance(api_key, str) or not api_key:
        raise InvalidRequest("api_key must be a non-empty string", param="api_key")
    formats = body.get("formats")
    answer = await allocator.allocate(
        AllocationRequest(
            api_key=api_key,
            capability=body.get("capability") or "chat",
            model=body.get("model"),
            formats=tuple(formats) if formats else None,
            exclude=frozenset(body.get("exclude") or ()),
        )
    )
    return Response(orjson.dumps(answer), media_type="application/json")
