"""A canonical (Anthropic Messages) request as Kiro's `generateAssistantResponse` body (kiro.md §2.3–2.4).

* The system prompt (and the thinking-mode tags when thinking is asked for) travels as a first
  history pair: a user turn with the instructions and an assistant turn acknowledging them. Kiro
  refuses a top-level `systemPrompt`.
* Every turn but the last becomes `history`, user and assistant strictly alternating (adjacent turns
  of one role are merged). A final assistant turn (a prefill) moves into history and the current
  message asks to continue.
* Tools go on the current message only, with their JSON schemas normalised (MCP servers send null
  `required`/`properties`). A tool that history used but the request no longer declares gets a stub
  spec: Kiro answers "Improperly formed request" otherwise. Names Kiro would refuse (over 64
  characters, odd characters) are replaced reversibly through the call's `ToolNameMap`.
* Tool results are paired with the tool uses of the assistant turn before them; a result whose use
  is not there is carried as text instead of being dropped. Images go on the user turn that had them.
* `max_tokens`, sampling and `tool_choice` have no Kiro field and are not sent (kiro.md §2.3: some
  models reject `inferenceConfig`).
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from services.proxy_service.formats.reasoning import claude_thinking
from services.proxy_service.formats.tool_names import ToolNameMap
from shared.kiro_models import kiro_model_id

ORIGIN = "AI_EDITOR"
CONTINUE = "Continue"
ACKNOWLEDGED = "I will follow these instructions."
DEFAULT_THINKING_BUDGET = 16_000
MAX_THINKING_BUDGET = 24_576
MAX_TOOL_DESCRIPTION = 10_000
STUB_DESCRIPTION = "A tool used earlier in this conversation."
_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}


class UnknownKiroModel(ValueError):
    pass


def build_payload(
    body: dict[str, Any], *, names: ToolNameMap, profile_arn: str | None, conversation_id: str | None = None
) -> dict[str, Any]:
    model = body.get("model")
    model_id = kiro_model_id(model if isinstance(model, str) else None)
    if model_id is None:
        raise UnknownKiroModel(f"Kiro does not serve model {model!r}")

    tools, documentation = _tools(body.get("tools"), names)
    turns = _turns(body.get("messages"), names)
    system = _system_text(body, documentation)
    if system:
        turns[:0] = [_Turn("user", text=system), _Turn("assistant", text=ACKNOWLEDGED)]
    turns = _alternating(turns)
    if not turns or turns[-1].role != "user":
        turns.append(_Turn("user"))
    current = turns.pop()
    _pair_tool_results(turns, current)

    declared = {t["toolSpecification"]["name"] for t in tools}
    for name in _used_tool_names(turns):
        if name not in declared:
            declared.add(name)
            tools.append(_spec(name, STUB_DESCRIPTION, {"type": "object", "properties": {}}))

    message = current.user_message(model_id)
    if tools:
        message.setdefault("userInputMessageContext", {})["tools"] = tools
    state: dict[str, Any] = {
        "chatTriggerType": "MANUAL",
        "conversationId": conversation_id or str(uuid.uuid4()),
        "currentMessage": {"userInputMessage": message},
    }
    if turns:
        state["history"] = [turn.history_entry(model_id) for turn in turns]
    payload: dict[str, Any] = {"conversationState": state}
    if profile_arn:
        payload["profileArn"] = profile_arn
    return payload


class _Turn:
    __slots__ = ("images", "results", "role", "text", "uses")

    def __init__(self, role: str, *, text: str = "") -> None:
        self.role = role
        self.text = text
        self.images: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []  # user turns: toolResults
        self.uses: list[dict[str, Any]] = []  # assistant turns: toolUses

    def add_text(self, text: str) -> None:
        if text:
            self.text = f"{self.text}\n\n{text}" if self.text else text

    def merge(self, other: _Turn) -> None:
        self.add_text(other.text)
        self.images += other.images
        self.results += other.results
        self.uses += other.uses

    def user_message(self, model_id: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "content": self.text or CONTINUE,
            "modelId": model_id,
            "origin": ORIGIN,
        }
        if self.images:
            message["images"] = self.images
        if self.results:
            message["userInputMessageContext"] = {"toolResults": self.results}
        return message

    def history_entry(self, model_id: str) -> dict[str, Any]:
        if self.role == "user":
            return {"userInputMessage": self.user_message(model_id)}
        message: dict[str, Any] = {"content": self.text}
        if self.uses:
            message["toolUses"] = self.uses
        return {"assistantResponseMessage": message}


def _system_text(body: dict[str, Any], documentation: str) -> str:
    system = body.get("system")
    if isinstance(system, str):
        text = system
    elif isinstance(system, list):
        text = "\n".join(
            b["text"] for b in system if isinstance(b, dict) and isinstance(b.get("text"), str) and b["text"]
        )
    else:
        text = ""
    if documentation:
        text = (
            f"{text}\n\n# Tool Documentation\n{documentation}"
            if text
            else f"# Tool Documentation\n{documentation}"
        )
    prefix = _thinking_prefix(body)
    if prefix and "<thinking_mode>" not in text:
        text = f"{prefix}\n{text}" if text else prefix
    return text


def _thinking_prefix(body: dict[str, Any]) -> str:
    """Kiro has no thinking parameter: the model is told in tags and writes `<thinking>` inline."""
    thinking = claude_thinking(body)
    if thinking.mode == "enabled":
        budget = min(thinking.budget or DEFAULT_THINKING_BUDGET, MAX_THINKING_BUDGET)
        return f"<thinking_mode>enabled</thinking_mode><max_thinking_length>{budget}</max_thinking_length>"
    if thinking.mode == "adaptive":
        effort = thinking.effort or "high"
        return f"<thinking_mode>adaptive</thinking_mode><thinking_effort>{effort}</thinking_effort>"
    return ""


def _turns(messages: Any, names: ToolNameMap) -> list[_Turn]:
    turns: list[_Turn] = []
    for message in messages if isinstance(messages, list) else ():
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            continue
        turn = _Turn(message["role"])
        content = message.get("content")
        if isinstance(content, str):
            turn.add_text(content)
        elif isinstance(content, list):
            for block in content:
                if isinstance(block, dict):
                    _add_block(turn, block, names)
        turns.append(turn)
    return turns


def _add_block(turn: _Turn, block: dict[str, Any], names: ToolNameMap) -> None:
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        turn.add_text(text if isinstance(text, str) else "")
    elif kind == "thinking" and turn.role == "assistant":
        thinking = block.get("thinking")
        if isinstance(thinking, str) and thinking:
            turn.text = (
                f"<thinking>{thinking}</thinking>\n\n{turn.text}"
                if turn.text
                else f"<thinking>{thinking}</thinking>"
            )
    elif kind == "tool_use" and turn.role == "assistant":
        given = block.get("input")
        turn.uses.append(
            {
                "toolUseId": str(block.get("id") or ""),
                "name": names.upstream(str(block.get("name") or "tool")),
                "input": given if isinstance(given, dict) else {},
            }
        )
    elif kind == "tool_result" and turn.role == "user":
        turn.results.append(
            {
                "toolUseId": str(block.get("tool_use_id") or ""),
                "content": [{"text": _result_text(block.get("content"))}],
                "status": "error" if block.get("is_error") is True else "success",
            }
        )
    elif kind == "image" and turn.role == "user":
        image = _image(block.get("source"))
        if image is None:
            turn.add_text("[Image]")
        else:
            turn.images.append(image)
    elif kind == "document":
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "text" and isinstance(source.get("data"), str):
            turn.add_text(source["data"])
    # redacted_thinking, server tool blocks and unknown blocks have no Kiro counterpart


def _image(source: Any) -> dict[str, Any] | None:
    if not isinstance(source, dict) or source.get("type") != "base64":
        return None
    fmt = _IMAGE_FORMATS.get(str(source.get("media_type", "")).lower())
    data = source.get("data")
    if fmt is None or not isinstance(data, str) or not data:
        return None
    return {"format": fmt, "source": {"bytes": data}}


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                if block.get("type") == "text" and isinstance(block.get("text"), str):
                    parts.append(block["text"])
                elif block.get("type") == "image":
                    parts.append("[Image]")
            elif isinstance(block, str):
                parts.append(block)
        return "\n".join(parts)
    return "" if content is None else orjson.dumps(content).decode()


def _alternating(turns: list[_Turn]) -> list[_Turn]:
    """Merge adjacent turns of one role, and open with a user turn."""
    merged: list[_Turn] = []
    for turn in turns:
        if merged and merged[-1].role == turn.role:
            merged[-1].merge(turn)
        else:
            merged.append(turn)
    if merged and merged[0].role == "assistant":
        merged.insert(0, _Turn("user", text=CONTINUE))
    return merged


def _pair_tool_results(history: list[_Turn], current: _Turn) -> None:
    """Each user turn's tool results must answer the tool uses of the assistant turn before it."""
    sequence = [*history, current]
    for position, turn in enumerate(sequence):
        if turn.role != "user" or not turn.results:
            continue
        previous = sequence[position - 1] if position else None
        known = {use["toolUseId"] for use in previous.uses} if previous is not None else set()
        kept = []
        for result in turn.results:
            if result["toolUseId"] in known:
                kept.append(result)
            else:
                text = result["content"][0]["text"]
                turn.add_text(f"[Tool result for {result['toolUseId'] or 'an unknown call'}]\n{text}")
        turn.results = kept


def _used_tool_names(turns: list[_Turn]) -> list[str]:
    return [use["name"] for turn in turns for use in turn.uses]


def _tools(tools: Any, names: ToolNameMap) -> tuple[list[dict[str, Any]], str]:
    specs: list[dict[str, Any]] = []
    documentation: list[str] = []
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            continue
        if tool.get("type") not in (None, "custom"):  # Anthropic server tools (web_search_…, bash_…)
            continue
        name = names.upstream(tool["name"])
        description = tool.get("description") if isinstance(tool.get("description"), str) else ""
        if len(description) > MAX_TOOL_DESCRIPTION:
            documentation.append(f"## Tool: {name}\n{description}")
            description = f"[Full documentation in system prompt under '## Tool: {name}']"
        specs.append(_spec(name, description or name, normalize_schema(tool.get("input_schema"))))
    return specs, "\n\n".join(documentation)


def _spec(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"toolSpecification": {"name": name, "description": description, "inputSchema": {"json": schema}}}


def normalize_schema(schema: Any) -> dict[str, Any]:
    """A top-level object schema Kiro accepts: `type` object, `properties` an object, `required` only
    names (MCP servers send nulls, empty types and non-string entries)."""
    out = dict(schema) if isinstance(schema, dict) else {}
    if out.get("type") in (None, "", []):
        out["type"] = "object"
    if not isinstance(out.get("properties"), dict):
        out["properties"] = {}
    if "required" in out:
        required = out["required"]
        kept = [r for r in required if isinstance(r, str)] if isinstance(required, list) else []
        if kept:
            out["required"] = kept
        else:
            del out["required"]
    if "additionalProperties" in out and not isinstance(out["additionalProperties"], bool | dict):
        out["additionalProperties"] = True
    return out
