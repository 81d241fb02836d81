"""The web console, served by account_service at `/`: server-rendered pages (Jinja2) with a little
htmx, every asset inside this package. Pages call the same services as the management API (`/api/v1`),
so every rule has one implementation; the console adds sign-in, sessions, CSRF and translations.

Layout: `deps.py` (language, session, CSRF), `sessions.py`, `i18n.py`, `web.py` (rendering),
`errors.py` (failures as pages), `pages/` (one module per section), `templates/`, `static/`, `locales/`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from starlette.staticfiles import StaticFiles

from services.account_service.console.pages import (
    accounts,
    auth,
    custom,
    dreamina,
    error_rules,
    events,
    jobs,
    keys,
    kiro,
    overview,
    pool,
    probes,
    proxies,
    usage,
    users,
    webhooks,
)
from services.account_service.input_check import reject_unstorable_text

router = APIRouter(include_in_schema=False, dependencies=[Depends(reject_unstorable_text)])
for part in (
    auth,
    overview,
    accounts,
    kiro,
    custom,
    dreamina,
    keys,
    usage,
    webhooks,
    error_rules,
    proxies,
    users,
    pool,
    probes,
    events,
    jobs,
):
    router.include_router(part.router)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(
        "/static", StaticFiles(packages=[("services.account_service.console", "static")]), name="static"
    )
