"""Fake OpenAI Chat Completions upstream (plain, and Azure-style deployment URLs).

Run: python -m tests.fakes.openai_upstream --port 0   (prints "LISTENING <port>")
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from tests.fakes._content import (
    TOOL_ARGUMENTS,
    estimate_tokens,
    first_tool_name,
    fragments,
    new_id,
    split_text,
    wants_tool,
)
from tests.fakes._control import (
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
from tests.fakes._errors import openai_error, openai_error_body
from tests.fakes._sse import send_events

_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
_DONE = b"data: [DONE]\n\n"
# Azure opens every stream with a choices-less chunk carrying the prompt filter verdict.
_SAFE = {"filtered": False, "severity": "safe"}
_AZURE_FILTER = b"data: %s\n\n" % orjson.dumps(
    {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": [
            {
                "prompt_index": 0,
                "content_filter_results": dict.fromkeys(("hate", "self_harm", "sexual", "violence"), _SAFE),
            }
        ],
    }
)


# DeepSeek-style reasoning: a reasoning model, or a request that asks for reasoning, gets its
# thoughts in `reasoning_content` before the answer (streamed first, in two pieces).
REASONING_TEXT = "The user greets me; I should greet back."


def _wants_reasoning(body: dict[str, Any]) -> bool:
    return "reasoner" in str(body.get("model", "")) or bool(body.get("reasoning_effort"))


def _script_fields(script: dict[str, Any]) -> dict[str, Any]:
    """Scripts may impersonate other errors of the same status, e.g. 429 insufficient_quota."""
    fields = {"type": script.get("error_type"), "code": script.get("error_code")}
    return {k: v for k, v in fields.items() if v is not None}


def _invalid(body: dict[str, Any], azure: bool) -> web.Response | None:
    # Azure takes the model from the deployment in the URL, so only plain OpenAI insists on it.
    for field in ("messages",) if azure else ("model", "messages"):
        if field not in body:
            return openai_error(
                400, f"Missing required parameter: '{field}'.", param=field, code="missing_required_parameter"
            )
    messages = body["messages"]
    if not isinstance(messages, list):
        return openai_error(
            400, "Invalid type for 'messages': expected an array.", param="messages", code="invalid_type"
        )
    if not messages:
        message = "Invalid 'messages': empty array. Expected an array with minimum length 1."
        return openai_error(400, message, param="messages", code="empty_array")
    return None


def _usage(prompt: int, completion: int, cached: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


async def chat_completions(request: web.Request) -> web.StreamResponse:
    state: FakeState = request.app[STATE]
    azure = "deployment" in request.match_info
    if azure and "api-version" not in request.query:
        return json_response({"error": {"code": "404", "message": "Resource not found"}}, status=404)
    body = await read_body(request)
    key = bearer_token(request) or request.headers.get("api-key")
    if not key:
        return openai_error(401, _NO_KEY)
    if not state.key_allowed(key):
        return openai_error(401, f"Incorrect API key provided: {key[:3]}***{key[-4:]}.")
    if not isinstance(body, dict):
        return openai_error(400, "We could not parse the JSON body of your request.")
    stream = body.get("stream") is True
    script = state.take_script(key, stream)
    if "status" in script:
        fields = _script_fields(script)
        return openai_error(
            script["status"], script.get("message"), retry_after=script.get("retry_after"), **fields
        )
    invalid = _invalid(body, azure)
    if invalid is not None:
        return invalid
    settings = state.settings(script)
    if not await think(request, settings["delay_ms"]):
        return web.Response(status=499)  # nobody is listening any more

    tool = first_tool_name(body["tools"]) if wants_tool(body) else None
    pieces = [] if tool else split_text(settings["text"], settings["stream_chunks"])
    model = body.get("model") or request.match_info.get("deployment", "")
    completion = _completion(model, pieces, tool, REASONING_TEXT if _wants_reasoning(body) else None)
    cache = state.prompt_cache.use(key, [body.get("tools")], body["messages"])
    completion["usage"] = _usage(
        cache.total,
        estimate_tokens(len(tool) + len(TOOL_ARGUMENTS) if tool else sum(map(len, pieces))),
        cache.read,
    )
    if not stream:
        return json_response(completion)

    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    events = _chunks(completion, pieces, settings["stream_chunks"], include_usage)
    if azure:
        events.insert(0, _AZURE_FILTER)
    error = openai_error_body(500, script.get("message"), **_script_fields(script))
    return await send_events(request, events, settings, script, b"data: " + orjson.dumps(error) + b"\n\n")


def _completion(model: str, pieces: list[str], tool: str | None, reasoning: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(pieces), "refusal": None}
    if reasoning:
        message["reasoning_content"] = reasoning
    if tool:
        function = {"name": tool, "arguments": TOOL_ARGUMENTS}
        message["content"] = None
        message["tool_calls"] = [{"id": new_id("call_"), "type": "function", "function": function}]
    message["annotations"] = []
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": "tool_calls" if tool else "stop",
    }
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": None,
        "service_tier": "default",
        "system_fingerprint": "fp_fake",
    }


def _chunks(completion: dict[str, Any], pieces: list[str], n_chunks: int, include_usage: bool) -> list[bytes]:
    """The stream equivalent of `completion`, as OpenAI would send it."""
    # Every chunk shares id/created/model, so that envelope is encoded once and only deltas vary.
    head = b'data: {"id":%s,"object":"chat.completion.chunk","created":%d,"model":%s,%s"choices":' % (
        orjson.dumps(completion["id"]),
        completion["created"],
        orjson.dumps(completion["model"]),
        b'"service_tier":"default","system_fingerprint":"fp_fake",',
    )
    # With include_usage OpenAI puts "usage":null on every chunk before the usage-only one.
    end = b',"usage":null}\n\n' if include_usage else b"}\n\n"

    def chunk(delta: dict[str, Any], finish: bytes = b"null") -> bytes:
        choice = b'[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}]' % (
            orjson.dumps(delta),
            finish,
        )
        return head + choice + end

    message = completion["choices"][0]["message"]
    calls = message.get("tool_calls")
    reasoning = message.get("reasoning_content")
    thoughts = [chunk({"reasoning_content": p}) for p in split_text(reasoning, 2)] if reasoning else []
    if calls:
        # OpenAI names the call in the first chunk and then streams the arguments string in pieces.
        first = {"index": 0, **calls[0], "function": {"name": calls[0]["function"]["name"], "arguments": ""}}
        events = [
            *thoughts,
            chunk({"role": "assistant", "content": None, "tool_calls": [first], "refusal": None}),
        ]
        events += [
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
            for fragment in fragments(TOOL_ARGUMENTS, n_chunks)
        ]
        events.append(chunk({}, b'"tool_calls"'))
    else:
        events = [chunk({"role": "assistant", "content": "", "refusal": None}), *thoughts]
        events += [chunk({"content": piece}) for piece in pieces]
        events.append(chunk({}, b'"stop"'))
    if include_usage:
        events.append(head + b'[],"usage":' + orjson.dumps(completion["usage"]) + b"}\n\n")
    events.append(_DONE)
    return events


async def list_models(request: web.Request) -> web.Response:
    """`GET /v1/models` (Azure: `/openai/models?api-version=…`), authenticated like a completion."""
    models = models_listing(request)
    if models is None:
        return json_response({"error": {"message": "Not Found", "type": "invalid_request_error"}}, status=404)
    key = bearer_token(request) or request.headers.get("api-key")
    if not key:
        return openai_error(401, _NO_KEY)
    if not request.app[STATE].key_allowed(key):
        return openai_error(401, f"Incorrect API key provided: {key[:3]}***{key[-4:]}.")
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in models]
    return json_response({"object": "list", "data": data})


def create_app(state: FakeState | None = None) -> web.Application:
    app = new_app(state)
    for path in (
        "/v1/chat/completions",
        "/chat/completions",
        "/openai/v1/chat/completions",
        "/openai/deployments/{deployment}/chat/completions",
    ):
        app.router.add_post(path, chat_completions)
    for path in ("/v1/models", "/models", "/openai/v1/models", "/openai/models"):
        app.router.add_get(path, list_models)
    return app


if __name__ == "__main__":
    main(create_app)
