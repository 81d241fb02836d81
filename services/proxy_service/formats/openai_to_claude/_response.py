"""An OpenAI `chat.completion` (non-streaming answer) as a Claude message (conversion.md §2.5).

Content order: thinking (from `reasoning_content` / `reasoning`), then the text (never an empty
text block), then one tool_use per tool call with `input` always an object. A refusal is answered
as text with stop_reason `refusal`. An answer whose `tool_calls` is not a list raises
`MalformedAnswer` (a 502 from the upstream): its calls are lost, so no converted answer is right.
"""

from __future__ import annotations

from typing import Any

from services.proxy_service.formats.failures import MalformedAnswer
from services.proxy_service.formats.ids import clean_tool_id, tool_id_for
from services.proxy_service.formats.json_args import parse_arguments
from services.proxy_service.formats.reasoning import reasoning_signature, reasoning_text
from services.proxy_service.formats.stop_reason import claude_stop_reason
from services.proxy_service.formats.tool_names import ToolNameMap
from services.proxy_service.formats.usage_conversion import claude_usage


def convert_completion(
    completion: dict[str, Any], *, model: str, message_id: str, names: ToolNameMap, thinking: bool
) -> dict[str, Any]:
    choices = completion.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    content: list[dict[str, Any]] = []
    if thinking:
        reasoning = reasoning_text(message)
        if reasoning:
            block = {"type": "thinking", "thinking": reasoning}
            signature = reasoning_signature(message)
            if signature:
                block["signature"] = signature
            content.append(block)
    text = _text(message.get("content"))
    refused = False
    if not text and isinstance(message.get("refusal"), str) and message["refusal"]:
        text, refused = message["refusal"], True
    if text:
        content.append({"type": "text", "text": text})
    calls = message.get("tool_calls")
    if calls is None:
        calls = ()
    elif not isinstance(calls, list):
        raise MalformedAnswer(f"`choices.0.message.tool_calls` is {type(calls).__name__}, not an array")
    used_tools = False
    for n, call in enumerate(calls):
        if not isinstance(call, dict):
            continue
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        name = function.get("name")
        content.append(
            {
                "type": "tool_use",
                "id": clean_tool_id(call.get("id")) or tool_id_for(message_id, n),
                "name": names.client(name) if isinstance(name, str) else "",
                "input": parse_arguments(function.get("arguments")),
            }
        )
        used_tools = True
    stop_reason = claude_stop_reason(choice.get("finish_reason"), used_tools=used_tools)
    if refused and stop_reason == "end_turn":
        stop_reason = "refusal"
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": claude_usage(completion.get("usage")),
    }


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # some compatibles answer with parts
        return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""
