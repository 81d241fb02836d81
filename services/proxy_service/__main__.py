"""`python -m services.proxy_service`: run the proxy (`POOLGATE_PROXY_WORKERS` processes)."""

from __future__ import annotations

from services.proxy_service.settings import ProxySettings
from shared.logging import configure_logging
from shared.serve import serve


def main() -> None:
    settings = ProxySettings()
    configure_logging(service="proxy_service", level=settings.log_level, json=settings.log_json)
    serve(
        "services.proxy_service.app:create_app",
        host=settings.host,
        port=settings.proxy_port,
        workers=settings.proxy_workers,
        header_timeout_s=settings.client_header_timeout_s,
        # uvicorn must not cancel running streams before the drain deadline ends them with an error
        # event (drain.py): its wait starts after the grace and outlasts the drain timeout.
        graceful_shutdown_s=settings.proxy_drain_timeout_s + 5,
    )


if __name__ == "__main__":
    main()
