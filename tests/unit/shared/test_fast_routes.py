"""Hot routes answered ahead of the middleware stack behave like the same routes through it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from shared.errors import PoolGateError, Unauthenticated
from shared.fast_routes import FastRoutesApp
from shared.logging import CorrelationIdMiddleware


async def hot(request: Request) -> Response:
    body = await request.body()
    if body == b"deny":
        raise Unauthenticated("no")
    if body == b"boom":
        raise RuntimeError("boom")
    return PlainTextResponse(body)


async def on_poolgate_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, PoolGateError)
    return JSONResponse({"error": str(exc)}, status_code=exc.status_code)


async def on_unexpected(_: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "internal"}, status_code=500)


def make_client(*, catch_all: bool = False) -> TestClient:
    routes = [Route("/hot", hot, methods=["POST"])]
    app = FastRoutesApp(fast_routes=routes)
    app.router.routes[:0] = routes
    app.add_middleware(CorrelationIdMiddleware)
    app.add_exception_handler(PoolGateError, on_poolgate_error)
    if catch_all:
        app.add_exception_handler(Exception, on_unexpected)
    assert ("POST", "/hot") in app.fast_endpoints
    return TestClient(app, raise_server_exceptions=False)


def test_a_hot_route_answers_with_the_correlation_id_of_the_call() -> None:
    r = make_client().post("/hot", content=b"hello", headers={"x-correlation-id": "cid-1"})
    assert r.status_code == 200
    assert r.text == "hello"
    assert r.headers["x-correlation-id"] == "cid-1"


def test_an_error_in_a_hot_route_is_rendered_by_the_apps_handler() -> None:
    r = make_client().post("/hot", content=b"deny")
    assert r.status_code == 401
    assert r.json() == {"error": "no"}
    assert r.headers["x-correlation-id"]


def test_an_unexpected_error_goes_to_the_catch_all_handler_or_is_a_plain_500() -> None:
    r = make_client(catch_all=True).post("/hot", content=b"boom")
    assert (r.status_code, r.json()) == (500, {"error": "internal"})
    assert make_client().post("/hot", content=b"boom").status_code == 500


def test_other_methods_and_paths_go_through_the_full_stack() -> None:
    client = make_client()
    assert client.get("/hot").status_code == 405
    assert client.post("/cold").status_code == 404
