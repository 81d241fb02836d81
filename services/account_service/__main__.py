"""`python -m services.account_service`: run account_service (POOLGATE_ACCOUNT_SERVICE_WORKERS processes)."""

from services.account_service.settings import get_settings
from shared.serve import serve

if __name__ == "__main__":
    settings = get_settings()
    serve(
        "services.account_service.app:create_app",
        host=settings.host,
        port=settings.account_service_port,
        workers=settings.account_service_workers,
        header_timeout_s=settings.client_header_timeout_s,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
