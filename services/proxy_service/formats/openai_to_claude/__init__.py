"""OpenAI-shaped data as Claude-shaped data: an OpenAI client's request for a Claude upstream, and an
OpenAI upstream's answer (JSON or SSE) for a Claude client. Pure, I/O-free."""

from services.proxy_service.formats.openai_to_claude._request import convert_request
from services.proxy_service.formats.openai_to_claude._response import convert_completion
from services.proxy_service.formats.openai_to_claude._stream import OpenAIToClaudeStream

__all__ = ["OpenAIToClaudeStream", "convert_completion", "convert_request"]
