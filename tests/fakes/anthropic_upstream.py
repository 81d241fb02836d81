"""Fake Anthropic Messages API upstream.

Run: python -m tests.fakes.anthropic_upstream --port 0   (prints "LISTENING <port>")
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from tests.fakes._content import (
    THINKING_TEXT,
    TOOL_ARGUMENTS,
    TOOL_INPUT,
    estimate_tokens,
    first_tool_name,
    fragments,
    new_id,
    new_signature,
    split_text,
    text_chars,
    wants_tool,
)
from tests.fakes._control import (
    LOG_ENTRY,
    STATE,
    FakeState,
    bearer_token,
    json_response,
    main,
    models_listing,
    new_app,
    read_body,
    think,
)
from tests.fakes._errors import anthropic_error, anthropic_error_body
from tests.fakes._prompt_cache import CacheUse
from tests.fakes._sse import send_events


def _invalid(body: dict[str, Any]) -> web.Response | None:
    for field in ("model", "messages", "max_tokens"):
        if field not in body:
            return anthropic_error(400, f"{field}: Field required")
    if not isinstance(body["messages"], list):
        return anthropic_error(400, "messages: Input should be a valid list")
    if not body["messages"]:
        return anthropic_error(400, "messages: at least one message is required")
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        return anthropic_error(400, "max_tokens: Input should be a valid integer greater than or equal to 1")
    return None


def _auth_error(request: web.Request, key: str | None) -> web.Response | None:
    if not key:
        return anthropic_error(401, "x-api-key header is required")
    if not request.app[STATE].key_allowed(key):
        return anthropic_error(401, "invalid x-api-key")
    return None


async def messages(request: web.Request) -> web.StreamResponse:
    state: FakeState = request.app[STATE]
    body = await read_body(request)
    key = request.headers.get("x-api-key") or bearer_token(request)
    denied = _auth_error(request, key)
    if denied is not None:
        return denied
    if not isinstance(body, dict):
        return anthropic_error(400, "There was an error parsing the body of your request.")
    stream = body.get("stream") is True
    script = state.take_script(key, stream)
    if "status" in script:
        return anthropic_error(
            script["status"],
            script.get("message"),
            error_type=script.get("error_type"),
            retry_after=script.get("retry_after"),
        )
    invalid = _invalid(body)
    if invalid is not None:
        return invalid
    settings = state.settings(script)
    if not await think(request, settings["delay_ms"]):
        return web.Response(status=499)  # nobody is listening any more

    cache = state.prompt_cache.use(key, [body.get("system"), body.get("tools")], body["messages"])
    logged = request.get(LOG_ENTRY)
    if logged is not None:  # what the cache gave, for tests that measure the hit rate
        logged["cache_read_input_tokens"] = cache.read
    reply, blocks = _answer(body, settings, cache)
    if not stream:
        reply["content"] = [final for _, _, final in blocks]
        return json_response(reply)
    error_event = _event(b"error", anthropic_error_body(529, script.get("message"), script.get("error_type")))
    return await send_events(request, _stream_events(reply, blocks), settings, script, error_event)


# A block as (content_block_start payload, stream deltas, complete block for non-streaming replies).
Block = tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]


def _answer(
    body: dict[str, Any], settings: dict[str, Any], cache: CacheUse
) -> tuple[dict[str, Any], list[Block]]:
    blocks: list[Block] = []
    output_chars = 0
    if (body.get("thinking") or {}).get("type") in ("enabled", "adaptive"):
        output_chars += len(THINKING_TEXT)
        signature = new_signature()
        deltas = [{"type": "thinking_delta", "thinking": p} for p in split_text(THINKING_TEXT, 2)]
        deltas.append({"type": "signature_delta", "signature": signature})
        final = {"type": "thinking", "thinking": THINKING_TEXT, "signature": signature}
        blocks.append(({"type": "thinking", "thinking": ""}, deltas, final))
    tool = first_tool_name(body["tools"]) if wants_tool(body) else None
    if tool:
        tool_id = new_id("toolu_")
        # Anthropic opens every tool_use block with an empty partial_json before the fragments.
        parts = ["", *fragments(TOOL_ARGUMENTS, settings["stream_chunks"])]
        blocks.append(
            (
                {"type": "tool_use", "id": tool_id, "name": tool, "input": {}},
                [{"type": "input_json_delta", "partial_json": p} for p in parts],
                {"type": "tool_use", "id": tool_id, "name": tool, "input": TOOL_INPUT},
            )
        )
        output_chars += len(tool) + len(TOOL_ARGUMENTS)
    else:
        pieces = split_text(settings["text"], settings["stream_chunks"])
        text = "".join(pieces)
        deltas = [{"type": "text_delta", "text": p} for p in pieces]
        blocks.append(({"type": "text", "text": ""}, deltas, {"type": "text", "text": text}))
        output_chars += len(text)
    reply = {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [],
        "stop_reason": "tool_use" if tool else "end_turn",
        "stop_sequence": None,
        "usage": {
            # Anthropic's input_tokens are those neither read from nor written to the cache.
            "input_tokens": max(1, cache.total - cache.read - cache.written),
            "cache_creation_input_tokens": cache.written,
            "cache_read_input_tokens": cache.read,
            "output_tokens": estimate_tokens(output_chars),
        },
    }
    return reply, blocks


def _input_tokens(body: dict[str, Any]) -> int:
    return estimate_tokens(
        text_chars(body["messages"]) + text_chars(body.get("system")) + text_chars(body.get("tools"))
    )


def _event(name: bytes, data: dict[str, Any]) -> bytes:
    return b"event: " + name + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _stream_events(reply: dict[str, Any], blocks: list[Block]) -> list[bytes]:
    usage = reply["usage"]
    start = {**reply, "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events = [_event(b"message_start", {"type": "message_start", "message": start})]
    for index, (block, deltas, _) in enumerate(blocks):
        started = {"type": "content_block_start", "index": index, "content_block": block}
        events.append(_event(b"content_block_start", started))
        if index == 0:
            events.append(b'event: ping\ndata: {"type": "ping"}\n\n')
        # Deltas of one block share everything but the delta itself: encode that envelope once.
        head = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,"delta":' % index
        events += [head + orjson.dumps(delta) + b"}\n\n" for delta in deltas]
        events.append(_event(b"content_block_stop", {"type": "content_block_stop", "index": index}))
    delta = {"stop_reason": reply["stop_reason"], "stop_sequence": None}
    finished = {"type": "message_delta", "delta": delta, "usage": {"output_tokens": usage["output_tokens"]}}
    events.append(_event(b"message_delta", finished))
    events.append(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    return events


async def count_tokens(request: web.Request) -> web.Response:
    body = await read_body(request)
    denied = _auth_error(request, request.headers.get("x-api-key") or bearer_token(request))
    if denied is not None:
        return denied
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return anthropic_error(400, "messages: Field required")
    return json_response({"input_tokens": _input_tokens(body)})


async def list_models(request: web.Request) -> web.Response:
    """`GET /v1/models`, authenticated like a message."""
    models = models_listing(request)
    if models is None:
        return anthropic_error(404, "Not found")
    auth = _auth_error(request, request.headers.get("x-api-key"))
    if auth is not None:
        return auth
    data = [
        {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"} for m in models
    ]
    first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
    return json_response({"data": data, "has_more": False, "first_id": first, "last_id": last})


def create_app(state: FakeState | None = None) -> web.Application:
    app = new_app(state)
    for path in ("/v1/messages", "/messages"):  # the second for a base that names the endpoint
        app.router.add_post(path, messages)
    app.router.add_post("/v1/messages/count_tokens", count_tokens)
    app.router.add_get("/v1/models", list_models)
    return app


if __name__ == "__main__":
    main(create_app)
