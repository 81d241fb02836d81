"""What the chat host rejects before answering, with the real error bodies (reference/kiro.md §2.3, §3.9)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

KNOWN_MODELS = frozenset(
    {
        "claude-opus-4.6",
        "claude-opus-4.5",
        "claude-sonnet-4.6",
        "CLAUDE_SONNET_4_5_20250929_V1_0",
        "CLAUDE_SONNET_4_20250514_V1_0",
        "claude-haiku-4.5",
        "CLAUDE_3_7_SONNET_20250219_V1_0",
    }
)
IMAGE_FORMATS = frozenset({"png", "jpeg", "gif", "webp"})
MAX_TOOL_NAME = 64

IMPROPER = {"message": "Improperly formed request.", "reason": None}
BODY_INVALID = {"message": "Improperly formed request.", "reason": "REQUEST_BODY_INVALID"}
NOT_AUTHORIZED = {"message": "User is not authorized to make this call.", "reason": None}
Problem = tuple[int, dict[str, Any]]

# Keys holding ids and enums rather than text the model reads; left out of the input size.
_META_KEYS = frozenset(
    {"modelId", "origin", "toolUseId", "conversationId", "chatTriggerType", "status", "format", "bytes"}
)


def problem(body: Any, token_region: str) -> Problem | None:
    """The error answer for a request the real chat host refuses, or None when it is acceptable."""
    if not isinstance(body, dict):
        return 400, IMPROPER
    if "systemPrompt" in body:
        return 400, BODY_INVALID
    arn = body.get("profileArn")
    if arn is not None and _arn_region(arn) != token_region:
        return 403, NOT_AUTHORIZED
    state = body.get("conversationState")
    current = _dig(state, "currentMessage", "userInputMessage")
    if (
        not isinstance(current, dict)
        or not isinstance(current.get("content"), str)
        or not isinstance(current.get("modelId"), str)
        or current["modelId"] not in KNOWN_MODELS
    ):
        return 400, IMPROPER
    history = state.get("history", [])
    if not isinstance(history, list) or not _conversation_ok(history, current):
        return 400, IMPROPER
    return None


def _dig(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _arn_region(arn: Any) -> str | None:
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[3] if len(parts) >= 6 and parts[0] == "arn" else None


def context(message: dict[str, Any]) -> dict[str, Any]:
    found = message.get("userInputMessageContext")
    return found if isinstance(found, dict) else {}


def _conversation_ok(history: list[Any], current: dict[str, Any]) -> bool:
    """History alternates user / assistant from a user turn (the current message is the next user turn);
    tool results answer the tool uses of the assistant turn right before them."""
    tools = context(current).get("tools")
    if tools is not None and not (isinstance(tools, list) and all(map(_tool_ok, tools))):
        return False
    if len(history) % 2:
        return False
    previous_uses: set[Any] = set()
    for index, turn in enumerate(history):
        key = "assistantResponseMessage" if index % 2 else "userInputMessage"
        message = turn.get(key) if isinstance(turn, dict) and len(turn) == 1 else None
        if not isinstance(message, dict) or not isinstance(message.get("content", ""), str):
            return False
        if key == "userInputMessage":
            if not _user_turn_ok(message, previous_uses):
                return False
            continue
        uses = message.get("toolUses") or []
        if not isinstance(uses, list) or not all(isinstance(use, dict) for use in uses):
            return False
        if uses and not tools:  # history tool uses need the tools defined in the current message
            return False
        previous_uses = {use.get("toolUseId") for use in uses}
    return _user_turn_ok(current, previous_uses)


def _user_turn_ok(message: dict[str, Any], previous_uses: set[Any]) -> bool:
    images = message.get("images")
    if images is not None and not (isinstance(images, list) and all(map(_image_ok, images))):
        return False
    results = context(message).get("toolResults")
    if results is None:
        return True
    return isinstance(results, list) and all(
        isinstance(result, dict) and result.get("toolUseId") in previous_uses for result in results
    )


def _tool_ok(tool: Any) -> bool:
    spec = _dig(tool, "toolSpecification")
    name = _dig(spec, "name")
    return (
        isinstance(name, str)
        and 0 < len(name) <= MAX_TOOL_NAME
        and isinstance(_dig(spec, "inputSchema", "json"), dict)
    )


def _image_ok(image: Any) -> bool:
    data = _dig(image, "source", "bytes")
    if _dig(image, "format") not in IMAGE_FORMATS or not isinstance(data, str):
        return False
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def input_chars(obj: Any) -> int:
    """Characters of text in the request: what counts against the input limit and the context usage."""
    if isinstance(obj, str):
        return len(obj)
    if isinstance(obj, list):
        return sum(input_chars(item) for item in obj)
    if isinstance(obj, dict):
        return sum(input_chars(value) for key, value in obj.items() if key not in _META_KEYS)
    return 0


def tool_result_text(results: list[dict[str, Any]]) -> str:
    """The text of tool results: their `text` parts, `json` parts as JSON."""
    texts = []
    for result in results:
        for part in result.get("content") or []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, dict) and "json" in part:
                texts.append(orjson.dumps(part["json"]).decode())
    return " ".join(texts)
