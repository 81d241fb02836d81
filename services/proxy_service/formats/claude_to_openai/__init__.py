"""Claude-shaped data as OpenAI-shaped data: a Claude client's request for an OpenAI upstream, and a
Claude upstream's answer (JSON or SSE) for an OpenAI client. Pure, I/O-free."""

from services.proxy_service.formats.claude_to_openai._request import convert_request
from services.proxy_service.formats.claude_to_openai._response import convert_message
from services.proxy_service.formats.claude_to_openai._stream import ClaudeToOpenAIStream

__all__ = ["ClaudeToOpenAIStream", "convert_message", "convert_request"]
