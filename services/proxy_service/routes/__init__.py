"""Client-facing routes: one per API the proxy speaks."""

from services.proxy_service.routes.anthropic import router as anthropic_router
from services.proxy_service.routes.openai import router as openai_router

__all__ = ["anthropic_router", "openai_router"]
