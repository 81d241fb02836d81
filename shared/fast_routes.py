"""An app whose hot routes skip the framework's per-request layers.

Every FastAPI request passes ServerErrorMiddleware, the user middleware, ExceptionMiddleware,
FastAPI's exit-stack middleware, then a linear route match and Starlette's exception wrapper, with a
send wrapper per layer: about 60-100 µs per call on the reference box (bench/, py-spy), more than the
allocation decision itself. The routes on the path of every client call (allocation in
account_service, the chat routes in the proxy) are plain Starlette endpoints without dependencies or
path parameters, so `FastRoutesApp` answers them straight from their endpoint, wrapped only in the
app's own middleware (the correlation id) and rendered by the app's own exception handlers. Any other
request, or another method on a hot path, goes through the full stack as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Exception], Awaitable[Response]]


class FastRoutesApp(FastAPI):
    """A FastAPI app that answers `fast_routes` ahead of its middleware stack (see the module)."""

    def __init__(self, *args, fast_routes: Iterable[Route] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fast_endpoints: dict[tuple[str, str], Endpoint] = {}
        for route in fast_routes:
            if route.param_convertors:  # matched by the router, not by a dict
                continue
            for method in route.methods or ():
                self.fast_endpoints[(method, route.path)] = route.endpoint

    def build_middleware_stack(self) -> ASGIApp:
        full = super().build_middleware_stack()
        if not self.fast_endpoints:
            return full
        fast: ASGIApp = _Endpoints(self.fast_endpoints, self.exception_handlers)
        for middleware in reversed(self.user_middleware):
            fast = middleware.cls(fast, *middleware.args, **middleware.kwargs)
        return _Dispatch(self.fast_endpoints, fast=fast, full=full)


class _Dispatch:
    def __init__(self, endpoints: dict[tuple[str, str], Endpoint], *, fast: ASGIApp, full: ASGIApp) -> None:
        self._endpoints = endpoints
        self._fast = fast
        self._full = full

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and not scope.get("root_path")
            and (scope["method"], scope["path"]) in self._endpoints
        ):
            await self._fast(scope, receive, send)
        else:
            await self._full(scope, receive, send)


class _Endpoints:
    """Call the endpoint; an exception goes to the app's handler for its class, as in the full stack
    (the catch-all `Exception` handler answers, then the exception is raised again for the server to
    log, like Starlette's ServerErrorMiddleware does)."""

    def __init__(self, endpoints: dict[tuple[str, str], Endpoint], handlers: dict) -> None:
        self._endpoints = endpoints
        self._handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await self._endpoints[(scope["method"], scope["path"])](request)
        except Exception as exc:
            handler, catch_all = self._handler_for(exc)
            if handler is None:
                raise
            response = await handler(request, exc)
            if catch_all:
                await response(scope, receive, send)
                raise
        await response(scope, receive, send)

    def _handler_for(self, exc: Exception) -> tuple[Handler | None, bool]:
        for cls in type(exc).__mro__:
            handler = self._handlers.get(cls)
            if handler is not None:
                return handler, cls is Exception
        return self._handlers.get(500), True
