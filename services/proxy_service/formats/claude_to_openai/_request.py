"""A Claude Messages request as an OpenAI Chat Completions request (conversion.md §1.3)."""

from __future__ import annotations

import hashlib
from typing import Any

from services.proxy_service.formats.claude_to_openai._messages import convert_messages, system_message
from services.proxy_service.formats.providers import Provider
from services.proxy_service.formats.reasoning import Thinking, claude_thinking, effort_for, is_reasoning_model
from services.proxy_service.formats.tool_names import ToolNameMap

MAX_STOP = 4  # OpenAI refuses more stop sequences
MAX_USER = 64
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def convert_request(
    body: dict[str, Any], *, model: str, provider: Provider, names: ToolNameMap
) -> dict[str, Any]:
    """`model` is the one to send (the account's override, or the client's); `names` collects the
    tool names that had to change, for the answer's way back."""
    out: dict[str, Any] = {"model": model}
    tools = _tools(body.get("tools"), names)  # first, so declared names claim their stand-ins
    messages: list[dict[str, Any]] = []
    system = system_message(body.get("system"), keep_cache_control="claude" in model.lower())
    if system is not None:
        messages.append(system)
    given = body.get("messages")
    convert_messages(given if isinstance(given, list) else [], names=names, provider=provider, out=messages)
    out["messages"] = messages

    reasoning_model = is_reasoning_model(model)
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int):
        out["max_completion_tokens" if reasoning_model else "max_tokens"] = max_tokens
    if not reasoning_model:  # o-series and gpt-5 refuse any sampling setting but the default
        for key in ("temperature", "top_p"):
            if body.get(key) is not None:
                out[key] = body[key]
    if provider.top_k and body.get("top_k") is not None:
        out["top_k"] = body["top_k"]
    stop = body.get("stop_sequences")
    if isinstance(stop, list) and stop:
        out["stop"] = stop[:MAX_STOP]

    stream = body.get("stream") is True
    out["stream"] = stream
    if stream and provider.stream_usage:
        out["stream_options"] = {"include_usage": True}

    metadata = body.get("metadata")
    user = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user, str) and user:
        # Claude Code's user_id is a long composite string; a stable digest keeps it usable.
        out["user"] = user if len(user) <= MAX_USER else hashlib.sha256(user.encode()).hexdigest()

    if tools:
        out["tools"] = tools
        choice, parallel = _tool_choice(body.get("tool_choice"), names)
        if choice is not None:
            out["tool_choice"] = choice
        if parallel is False:
            out["parallel_tool_calls"] = False

    _reasoning(out, claude_thinking(body), provider, reasoning_model)
    response_format = _response_format(body)
    if response_format is not None:
        out["response_format"] = response_format
    return out


def _tools(tools: Any, names: ToolNameMap) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        return []
    out = []
    for tool in tools:
        # Anthropic's own tools (web_search_*, bash_*, text_editor_*, ...) have no counterpart
        # an OpenAI upstream could call; only client tools (no type, or "custom") go across.
        if not isinstance(tool, dict) or tool.get("type") not in (None, "custom"):
            continue
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            continue
        schema = tool.get("input_schema")
        function: dict[str, Any] = {
            "name": names.upstream(name),
            "parameters": schema if isinstance(schema, dict) and schema else dict(EMPTY_SCHEMA),
        }
        if isinstance(tool.get("description"), str) and tool["description"]:
            function["description"] = tool["description"]
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: Any, names: ToolNameMap) -> tuple[Any, bool | None]:
    """(tool_choice, parallel_tool_calls) — None for what the request leaves to the default."""
    if not isinstance(choice, dict):
        return None, None
    kind = choice.get("type")
    parallel = False if choice.get("disable_parallel_tool_use") is True and kind != "none" else None
    if kind == "auto":
        return "auto", parallel
    if kind == "any":
        return "required", parallel
    if kind == "none":
        return "none", None
    if kind == "tool" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": names.upstream(choice["name"])}}, parallel
    return None, parallel


def _reasoning(out: dict[str, Any], thinking: Thinking, provider: Provider, reasoning_model: bool) -> None:
    """Thinking on the upstream's terms; `disabled` is really off where the upstream can say so."""
    effort = effort_for(thinking)
    if provider.openrouter_reasoning:
        if thinking.mode == "enabled" and thinking.budget:
            out["reasoning"] = {"max_tokens": thinking.budget}
        elif effort is not None:
            out["reasoning"] = {"effort": effort}
        elif thinking.disabled:
            out["reasoning"] = {"enabled": False}
    elif provider.thinking_switch:  # DeepSeek: thinking is on by default, and has its own switch
        if thinking.disabled:
            out["thinking"] = {"type": "disabled"}
        elif effort is not None:
            out["thinking"] = {"type": "enabled"}
            out["reasoning_effort"] = effort
    elif reasoning_model and effort is not None:
        out["reasoning_effort"] = effort


def _response_format(body: dict[str, Any]) -> dict[str, Any] | None:
    """Anthropic structured output (`output_format`, or `output_config.format`) as json_schema."""
    config = body.get("output_config")
    spec = body.get("output_format") or (config.get("format") if isinstance(config, dict) else None)
    if (
        not isinstance(spec, dict)
        or spec.get("type") != "json_schema"
        or not isinstance(spec.get("schema"), dict)
    ):
        return None
    schema = {"name": "structured_output", "schema": spec["schema"], "strict": True}
    return {"type": "json_schema", "json_schema": schema}
