"""The chat host: `POST /q/{api_region}/generateAssistantResponse`, answered as AWS event-stream frames,
and `GET /q/{api_region}/ListAvailableModels` (kiro.md §2.1), which needs a live access token."""

from __future__ import annotations

import asyncio
import functools
import os
import re
from typing import Any

import orjson
from aiohttp import web

from tests.fakes import _kiro_frames as frames
from tests.fakes._content import THINKING_TEXT, TOOL_ARGUMENTS, fragments, split_text
from tests.fakes._control import STATE, bearer_token, json_response, sleep_ms
from tests.fakes._kiro_auth import read_logged
from tests.fakes._kiro_state import KIRO
from tests.fakes._kiro_validate import context, input_chars, problem, tool_result_text

PRESETS: dict[str, tuple[int, dict[str, Any]]] = {
    "invalid_bearer": (
        403,
        {"message": "The bearer token included in the request is invalid.", "reason": None},
    ),
    "throttled": (
        429,
        {
            "message": "Too many requests, please wait before trying again.",
            "reason": "SERVICE_REQUEST_RATE_EXCEEDED",
        },
    ),
    "monthly_quota": (402, {"message": "You have reached the limit.", "reason": "MONTHLY_REQUEST_COUNT"}),
    "too_long": (400, {"message": "Input is too long.", "reason": "CONTENT_LENGTH_EXCEEDS_THRESHOLD"}),
    "improperly_formed": (400, {"message": "Improperly formed request.", "reason": None}),
}
FAULTS = frozenset({"cut_mid_tool", "bad_crc", "exception_frame", "failure_frame"})
# A scripted status without a reason answers with the preset of that status, if there is one.
_PRESET_BY_STATUS = {403: "invalid_bearer", 429: "throttled", 402: "monthly_quota", 400: "improperly_formed"}
_SERVER_ERROR = {
    "message": "Encountered an unexpected error when processing the request, please try again.",
    "reason": None,
}

STREAM_HEADERS = {"Content-Type": "application/vnd.amazon.eventstream"}
THINKING_ON = "<thinking_mode>enabled</thinking_mode>"
CONTEXT_TOKENS = 200_000
_WEATHER = re.compile(r"\bweather\b", re.IGNORECASE)
_METERING = frames.event("meteringEvent", b'{"unit":"credit","unitPlural":"credits","usage":0.01}')
_EXCEPTION = frames.exception("ContentLengthExceededException", b'{"message":"Input is too long."}')
# An exception that fails the answer after text was sent (not a cut at the output limit).
_FAILURE = frames.exception(
    "InternalServerException", b'{"message":"Encountered an unexpected error for this profile."}'
)
# Both tags cut across events, as the real stream does.
_THINK_A, _THINK_B = split_text(THINKING_TEXT, 2)
_THINKING_PIECES = ("<thi", "nking>" + _THINK_A, _THINK_B + "</thin", "king>")
# Varied key orders: a frame-based decoder must not care, a first-key parser would break.
_KEY_ORDERS = (("name", "toolUseId", "input"), ("input", "name", "toolUseId"), ("toolUseId", "input", "name"))


def _error(status: int, body: dict[str, Any]) -> web.Response:
    return json_response(body, status=status)


def _scripted_error(script: dict[str, Any]) -> web.Response:
    reason = script.get("reason") or _PRESET_BY_STATUS.get(script.get("status", 0))
    status, body = PRESETS[reason] if reason else (500, _SERVER_ERROR)
    return _error(script.get("status", status), body)


async def generate(request: web.Request) -> web.StreamResponse:
    kiro, settings = request.app[KIRO], request.app[STATE].config
    body = await read_logged(request, "q", "api_region")
    access = kiro.access(bearer_token(request))
    if access is None:
        return _error(*PRESETS["invalid_bearer"])
    lineage = access.lineage.name
    script = kiro.script(lineage, "chat")
    if "status" in script or "reason" in script:
        script = kiro.use_script(lineage, "chat")
        await sleep_ms(script.get("delay_ms", 0))
        return _scripted_error(script)
    refused = problem(body, access.region)
    if refused is not None:
        return _error(*refused)
    chars = input_chars(body["conversationState"])
    if chars > kiro.config["max_input_chars"]:
        return _error(*PRESETS["too_long"])
    if script:
        script = kiro.use_script(lineage, "chat")
    await sleep_ms(script.get("delay_ms", settings["delay_ms"]))
    fault = script.get("fault")
    answer = _answer(body["conversationState"], settings, chars, fault)
    pieces = frames.slices(answer, kiro.config["slice_bytes"], kiro.rng)
    return await _send(request, pieces, settings["chunk_delay_ms"], cut=fault == "cut_mid_tool")


def _answer(state: dict[str, Any], settings: dict[str, Any], chars: int, fault: str | None) -> list[bytes]:
    current = state["currentMessage"]["userInputMessage"]
    ctx = context(current)
    results, tools = ctx.get("toolResults"), ctx.get("tools")
    text = "The tool said: " + tool_result_text(results) if results else settings["text"]
    out = list(_text_frames(text, settings["stream_chunks"], _thinking(state, current)))
    if fault == "exception_frame":
        return [*out[:2], _EXCEPTION]
    if fault == "failure_frame":
        return [*out[:2], _FAILURE]
    if (tools and not results and _WEATHER.search(current["content"])) or fault == "cut_mid_tool":
        name = (tools or [{}])[0].get("toolSpecification", {}).get("name", "get_weather")
        calls = _tool_frames(name, "tooluse_" + os.urandom(11).hex(), settings["stream_chunks"])
        if fault == "cut_mid_tool":  # the connection drops after the start and one more input fragment
            return [*out, *calls[:2]]
        out += calls
    usage = orjson.dumps({"contextUsagePercentage": chars / 4 / CONTEXT_TOKENS * 100})
    out += (_METERING, frames.event("contextUsageEvent", usage))
    if fault == "bad_crc":
        spoiled = 1 if len(out) > 2 else 0
        out[spoiled] = frames.flip_payload_byte(out[spoiled])
    return out


def _thinking(state: dict[str, Any], current: dict[str, Any]) -> bool:
    history = state.get("history") or []
    first = history[0]["userInputMessage"].get("content", "") if history else ""
    return THINKING_ON in first or THINKING_ON in current["content"]


@functools.lru_cache(maxsize=64)
def _text_frames(text: str, chunks: int, thinking: bool) -> tuple[bytes, ...]:
    pieces = [*(_THINKING_PIECES if thinking else ()), *split_text(text, chunks)]
    return tuple(frames.event("assistantResponseEvent", orjson.dumps({"content": p})) for p in pieces)


def _tool_frames(name: str, tool_id: str, chunks: int) -> list[bytes]:
    values = {"name": name, "toolUseId": tool_id}
    out = []
    for index, part in enumerate(fragments(TOOL_ARGUMENTS, max(3, chunks))):
        fields = {**values, "input": part}
        payload = {key: fields[key] for key in _KEY_ORDERS[index % len(_KEY_ORDERS)]}
        out.append(frames.event("toolUseEvent", orjson.dumps(payload)))
    out.append(frames.event("toolUseEvent", orjson.dumps({**values, "stop": True})))
    return out


async def _send(request: web.Request, pieces: list[bytes], delay_ms: float, cut: bool) -> web.StreamResponse:
    resp = web.StreamResponse(headers=STREAM_HEADERS)
    await resp.prepare(request)
    delay = delay_ms / 1000
    for index, piece in enumerate(pieces):
        if delay and index:
            await asyncio.sleep(delay)
        await resp.write(piece)
    if cut:
        # close() flushes what was written, then FIN without the terminating zero-length chunk, so the
        # client sees a truncated body; aiohttp's later write_eof hits the closed transport and is ignored.
        if request.transport is not None:
            request.transport.close()
        return resp
    await resp.write_eof()
    return resp


async def list_available_models(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.log(request, None, b"")
    if state.config["log_requests"] and state.requests:
        state.requests[-1]["kiro"] = {"host": "q", "region": request.match_info["api_region"]}
    if request.app[KIRO].access(bearer_token(request)) is None:
        return _error(*PRESETS["invalid_bearer"])
    models = [
        {"modelId": m, "modelName": m, "tokenLimits": {"maxInputTokens": CONTEXT_TOKENS}}
        for m in ("claude-sonnet-4.5", "claude-haiku-4.5")
    ]
    return json_response({"models": models})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/q/{api_region}/ListAvailableModels", list_available_models)
    app.router.add_post("/q/{api_region}/generateAssistantResponse", generate)
