from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from services.account_service.allocation.service import Allocator
from shared.errors import Unauthenticated


def get_allocator(request: Request) -> Allocator:
    return request.app.state.allocator


def require_service_token(request: Request) -> None:
    expected = request.app.state.service_auth
    given = request.headers.get("authorization", "").encode()
    if not hmac.compare_digest(given, expected):
        raise Unauthenticated("internal API requires the service token")


AllocatorDep = Annotated[Allocator, Depends(get_allocator)]
ServiceCaller = Depends(require_service_token)
