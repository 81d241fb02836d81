"""State, per-key scripts, the /_fake control API and the process entry point shared by both fakes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from aiohttp import web

from tests.fakes._prompt_cache import PromptCache

DEFAULT_CONFIG: dict[str, Any] = {
    "delay_ms": 0,  # before the first byte (headers included)
    "stream_chunks": 5,  # text delta events per stream
    "chunk_delay_ms": 0,  # between stream events
    "text": "Hello from the fake",
    "valid_keys": None,  # None accepts any key; a list turns every other key into a 401
    "log_requests": True,  # benchmarks may switch the request log off
    # Added to every API answer, as a CDN in front of a real upstream does (e.g. Cloudflare's
    # `set-cookie: __cf_bm=...` on api.openai.com).
    "response_headers": {},
    # Whether the models listing (`GET …/models`) exists; false: it answers 404, as some
    # OpenAI-compatible servers' does.
    "models_listing": True,
    "models": ["fake-model-1", "fake-model-2"],
    # Added to the answers to one upstream key only (its `Authorization: Bearer` or `x-api-key`), e.g.
    # the rate-limit headers of one account: {"<key>": {"x-ratelimit-remaining-requests": "10", ...}}.
    "key_response_headers": {},
}
# Fields a key script may override for that key only, e.g. one slow account in a pool.
OVERRIDABLE = frozenset({"delay_ms", "stream_chunks", "chunk_delay_ms", "text"})
SCRIPT_FIELDS = OVERRIDABLE | {
    "status",
    "retry_after",
    "times",
    "message",
    "error_type",
    "error_code",
    "break_after_chunks",
    "error_after_chunks",
}
_STREAM_ONLY = frozenset({"break_after_chunks", "error_after_chunks"})
_INTS = frozenset({"stream_chunks", "break_after_chunks", "error_after_chunks", "status", "times"})
_NUMBERS = frozenset({"delay_ms", "chunk_delay_ms"})
LOG_LIMIT = 1000
MAX_BODY = 64 * 1024 * 1024  # image-bearing requests exceed aiohttp's 1 MiB default

JSON = "application/json"


class FakeState:
    def __init__(self) -> None:
        self.config: dict[str, Any] = dict(DEFAULT_CONFIG)
        self.scripts: dict[str, dict[str, Any]] = {}
        self.requests: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self.prompt_cache = PromptCache()  # per upstream key, as the accounts' caches (_prompt_cache.py)

    def reset(self) -> None:
        self.config = dict(DEFAULT_CONFIG)
        self.scripts.clear()
        self.requests.clear()
        self.prompt_cache.clear()

    def key_allowed(self, key: str) -> bool:
        valid = self.config["valid_keys"]
        return valid is None or key in valid

    def take_script(self, key: str, streaming: bool) -> dict[str, Any]:
        """Return the script that applies to this request (or {}) and use up one of its `times`.

        A script only counts as used when it changes the answer, so a break-only script is not
        spent on non-streaming requests.
        """
        script = self.scripts.get(key)
        if not script:
            return {}
        if "status" not in script and OVERRIDABLE.isdisjoint(script):
            if not streaming or _STREAM_ONLY.isdisjoint(script):
                return {}
        times = script.get("times")
        if times is not None:
            if times <= 1:
                del self.scripts[key]
                if times <= 0:
                    return {}
            else:
                script["times"] = times - 1
        return script

    def settings(self, script: dict[str, Any]) -> dict[str, Any]:
        if OVERRIDABLE.isdisjoint(script):
            return self.config
        return {**self.config, **{k: script[k] for k in OVERRIDABLE & script.keys()}}

    def log(self, request: web.Request, body: Any, raw: bytes) -> None:
        if not self.config["log_requests"]:
            return
        entry = {
            "ts": time.time(),
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": body,
        }
        if body is None and raw:
            entry["raw"] = raw[:2000].decode("utf-8", "replace")
        request[LOG_ENTRY] = entry
        self.requests.append(entry)


STATE = web.AppKey("fake_state", FakeState)
LOG_ENTRY = web.RequestKey("fake_log_entry", dict)
_POLL_S = 0.01


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(obj), status=status, content_type=JSON, headers=headers)


async def read_body(request: web.Request) -> Any:
    """Parse and log the request body; None means it was not valid JSON."""
    raw = await request.read()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    request.app[STATE].log(request, body, raw)
    return body


def models_listing(request: web.Request) -> list[str] | None:
    """Log a models listing call; the configured model names, or None when there is no listing."""
    state = request.app[STATE]
    state.log(request, None, b"")
    return list(state.config["models"]) if state.config["models_listing"] else None


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def sleep_ms(ms: float) -> None:
    if ms:
        await asyncio.sleep(ms / 1000)


async def think(request: web.Request, ms: float) -> bool:
    """Wait `ms` before answering, as an upstream thinking does; False when the caller closed the
    connection meanwhile (marked `"caller_closed": true` in the request log, so tests can see it)."""
    deadline = asyncio.get_running_loop().time() + ms / 1000
    while True:
        transport = request.transport
        if transport is None or transport.is_closing():
            entry = request.get(LOG_ENTRY)
            if entry is not None:
                entry["caller_closed"] = True
            return False
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return True
        await asyncio.sleep(min(remaining, _POLL_S))


# --- control API -----------------------------------------------------------------------------------


def _check_fields(patch: Any, allowed: Iterable[str]) -> str | None:
    """Reject typos and wrong types up front rather than as a 500 on the next API request."""
    if not isinstance(patch, dict):
        return "body must be a JSON object"
    unknown = sorted(set(patch) - set(allowed))
    if unknown:
        return f"unknown fields: {', '.join(unknown)}"
    for name, value in patch.items():
        if name == "times" and value is None:
            continue
        kind = int if name in _INTS else int | float if name in _NUMBERS else None
        if kind and (isinstance(value, bool) or not isinstance(value, kind) or value < 0):
            return f"{name} must be a non-negative {'integer' if kind is int else 'number'}"
    if not 100 <= patch.get("status", 100) <= 599:
        return "status must be an HTTP status code"
    if not isinstance(patch.get("text", ""), str):
        return "text must be a string"
    if not isinstance(patch.get("valid_keys", []), list | None):
        return "valid_keys must be a list of keys or null"
    if not isinstance(patch.get("models_listing", True), bool):
        return "models_listing must be true or false"
    models = patch.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        return "models must be a list of model names"
    headers = patch.get("response_headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return "response_headers must be an object of strings"
    keyed = patch.get("key_response_headers", {})
    if not isinstance(keyed, dict) or not all(
        isinstance(h, dict) and all(isinstance(v, str) for v in h.values()) for h in keyed.values()
    ):
        return "key_response_headers must be an object of objects of strings"
    return None


async def _get_config(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return json_response({"config": state.config, "keys": state.scripts})


async def _post_config(request: web.Request) -> web.Response:
    state = request.app[STATE]
    patch = await _control_body(request)
    problem = _check_fields(patch, DEFAULT_CONFIG.keys())
    if problem:
        return json_response({"error": problem}, status=400)
    state.config.update(patch)
    return json_response(state.config)


async def _post_key(request: web.Request) -> web.Response:
    state = request.app[STATE]
    key = request.match_info["key"]
    script = await _control_body(request)
    problem = _check_fields(script, SCRIPT_FIELDS)
    if problem:
        return json_response({"error": problem}, status=400)
    if script:
        state.scripts[key] = dict(script)
    else:
        state.scripts.pop(key, None)
    return json_response({"key": key, "script": state.scripts.get(key, {})})


async def _get_requests(request: web.Request) -> web.Response:
    return json_response(list(request.app[STATE].requests))


async def _delete_requests(request: web.Request) -> web.Response:
    request.app[STATE].requests.clear()
    return json_response({"ok": True})


async def _reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return json_response({"ok": True})


async def _health(request: web.Request) -> web.Response:
    return json_response({"ok": True})


async def _control_body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        return None


async def _add_response_headers(request: web.Request, response: web.StreamResponse) -> None:
    if not request.path.startswith("/_fake/"):
        config = request.app[STATE].config
        response.headers.update(config["response_headers"])
        keyed = config["key_response_headers"]
        if keyed:
            key = bearer_token(request) or request.headers.get("x-api-key", "")
            response.headers.update(keyed.get(key, {}))


def new_app(state: FakeState | None = None) -> web.Application:
    """An application with the state and the control routes; each fake adds its API routes."""
    app = web.Application(client_max_size=MAX_BODY)
    app[STATE] = state or FakeState()
    app.on_response_prepare.append(_add_response_headers)
    app.router.add_get("/_fake/config", _get_config)
    app.router.add_post("/_fake/config", _post_config)
    app.router.add_post("/_fake/keys/{key}", _post_key)
    app.router.add_get("/_fake/requests", _get_requests)
    app.router.add_delete("/_fake/requests", _delete_requests)
    app.router.add_post("/_fake/reset", _reset)
    app.router.add_get("/_fake/health", _health)
    return app


# --- process entry point ---------------------------------------------------------------------------


def main(create_app: Callable[[], web.Application], argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake upstream; prints 'LISTENING <port>' once ready.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner, contextlib.suppress(KeyboardInterrupt):
        runner.run(_serve(create_app(), args.host, args.port))


async def _serve(app: web.Application, host: str, port: int) -> None:
    # No access log: the fake doubles as the benchmark upstream and must stay cheap per request.
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, backlog=2048).start()
        print(f"LISTENING {runner.addresses[0][1]}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
