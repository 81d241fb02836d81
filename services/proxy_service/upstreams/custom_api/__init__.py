"""Custom API accounts: any OpenAI-format or Claude-format endpoint."""

from services.proxy_service.upstreams.custom_api.target import Target, build_target, endpoint_url

__all__ = ["Target", "build_target", "endpoint_url"]
