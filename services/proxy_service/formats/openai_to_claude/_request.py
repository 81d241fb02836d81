"""An OpenAI Chat Completions request as a Claude Messages request (conversion.md §1.4).

Dropped because Anthropic has no counterpart: `n` (one choice is answered), `logprobs`,
`top_logprobs`, `logit_bias`, penalties, `seed`, `service_tier`, `response_format`, `metadata`.
"""

from __future__ import annotations

from typing import Any

from services.proxy_service.formats.openai_to_claude._messages import convert_messages
from services.proxy_service.formats.reasoning import MIN_BUDGET, budget_for

DEFAULT_MAX_TOKENS = 4096  # Anthropic requires max_tokens; OpenAI clients often leave it out
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def convert_request(body: dict[str, Any], *, model: str) -> dict[str, Any]:
    given = body.get("messages")
    system, messages = convert_messages(given if isinstance(given, list) else [])
    out: dict[str, Any] = {"model": model, "messages": messages}
    if system:
        out["system"] = system

    tools = _tools(body.get("tools"))
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls")) if tools else None
    if not tools and _uses_tools(messages):
        # Anthropic refuses tool blocks in a conversation that declares no tools: declare the ones
        # used, and forbid calling them, as the client offered none this time.
        tools = [{"name": n, "input_schema": dict(EMPTY_SCHEMA)} for n in _used_names(messages)]
        choice = {"type": "none"}
    if tools:
        out["tools"] = tools
    if choice is not None:
        out["tool_choice"] = choice

    budget = _thinking_budget(body)
    if choice is not None and choice["type"] in ("any", "tool"):
        budget = None  # Anthropic allows only auto/none tool choice while thinking
    max_tokens = _int(body.get("max_completion_tokens")) or _int(body.get("max_tokens"))
    if max_tokens is None:
        max_tokens = DEFAULT_MAX_TOKENS + (budget or 0)
    elif budget is not None:
        budget = min(budget, max_tokens - 1)  # the budget must stay below max_tokens
        if budget < MIN_BUDGET:
            budget = None
    out["max_tokens"] = max_tokens
    if budget is not None:
        out["thinking"] = {"type": "enabled", "budget_tokens": budget}
    else:  # Anthropic refuses non-default sampling while thinking
        temperature = body.get("temperature")
        if isinstance(temperature, int | float) and not isinstance(temperature, bool):
            out["temperature"] = min(temperature, 1)  # OpenAI allows up to 2
        for key in ("top_p", "top_k"):
            if body.get(key) is not None:
                out[key] = body[key]

    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    stops = [s for s in stops if isinstance(s, str) and s.strip()]  # Anthropic refuses blank ones
    if stops:
        out["stop_sequences"] = stops
    out["stream"] = body.get("stream") is True
    user = body.get("user")
    if isinstance(user, str) and user and "@" not in user:  # no e-mail addresses as user ids
        out["metadata"] = {"user_id": user}
    return out


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _thinking_budget(body: dict[str, Any]) -> int | None:
    effort = body.get("reasoning_effort")
    reasoning = body.get("reasoning")
    if effort is None and isinstance(reasoning, dict):
        effort = reasoning.get("effort")
    return budget_for(effort)


def _tools(tools: Any) -> list[dict[str, Any]]:
    out = []
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            continue
        function = tool.get("function")
        if (
            not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
            or not function["name"]
        ):
            continue
        parameters = function.get("parameters")
        claude: dict[str, Any] = {
            "name": function["name"],
            "input_schema": parameters if isinstance(parameters, dict) and parameters else dict(EMPTY_SCHEMA),
        }
        if isinstance(function.get("description"), str) and function["description"]:
            claude["description"] = function["description"]
        if "cache_control" in tool:
            claude["cache_control"] = tool["cache_control"]
        out.append(claude)
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    if choice == "none":
        return {"type": "none"}
    if choice == "required":
        out: dict[str, Any] = {"type": "any"}
    elif (
        isinstance(choice, dict)
        and isinstance(choice.get("function"), dict)
        and isinstance(choice["function"].get("name"), str)
        and choice["function"]["name"]
    ):
        out = {"type": "tool", "name": choice["function"]["name"]}
    elif choice == "auto" or parallel is False:
        out = {"type": "auto"}
    else:
        return None
    if parallel is False:
        out["disable_parallel_tool_use"] = True
    return out


def _uses_tools(messages: list[dict[str, Any]]) -> bool:
    return any(
        isinstance(m["content"], list) and any(b["type"] in ("tool_use", "tool_result") for b in m["content"])
        for m in messages
    )


def _used_names(messages: list[dict[str, Any]]) -> list[str]:
    names = {
        b["name"]: None
        for m in messages
        if isinstance(m["content"], list)
        for b in m["content"]
        if b["type"] == "tool_use" and b["name"]
    }
    return list(names) or ["tool"]
