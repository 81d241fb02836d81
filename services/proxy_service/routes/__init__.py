"""Client-facing routes: one per API the proxy speaks.

Plain Starlette routes, not FastAPI ones: the relay reads the body itself, so FastAPI's dependency
solving and per-request exit stack would be pure cost on the hot path (bench/). These APIs are
documented by OpenAI and Anthropic, not by our OpenAPI schema.
"""

from services.proxy_service.routes.chat import routes as chat_routes
from services.proxy_service.routes.count_tokens import route as count_tokens_route
from services.proxy_service.routes.media import routes as media_routes
from services.proxy_service.routes.models import routes as model_routes

HOT_ROUTES = [*chat_routes, count_tokens_route, *model_routes, *media_routes]

__all__ = ["HOT_ROUTES"]
