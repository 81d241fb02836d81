"""`python -m services.refresh_worker`: run the refresh worker (one process; scale by replicas)."""

from __future__ import annotations

from services.refresh_worker.settings import get_settings
from shared.serve import serve


def main() -> None:
    settings = get_settings()
    serve("services.refresh_worker.app:create_app", host=settings.host, port=settings.refresh_worker_port)


if __name__ == "__main__":
    main()
