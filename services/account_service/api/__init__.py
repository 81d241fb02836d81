"""`/api/v1`: the management API, authenticated by a PoolGate API key (admins' keys have admin rights)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from services.account_service.accounts.endpoints import router as accounts
from services.account_service.accounts.transfer_endpoints import router as transfer
from services.account_service.error_rules.endpoints import router as error_rules
from services.account_service.input_check import reject_unstorable_text
from services.account_service.jobs.endpoints import router as jobs
from services.account_service.keys.endpoints import router as keys
from services.account_service.openapi import ERROR_RESPONSES, DocumentedJSONResponse
from services.account_service.pool.endpoints import router as pool
from services.account_service.probes.endpoints import router as probes
from services.account_service.proxies.endpoints import router as proxies
from services.account_service.usage.endpoints import router as usage
from services.account_service.users.endpoints import router as users
from services.account_service.webhooks.endpoints import router as webhooks

router = APIRouter(
    prefix="/api/v1",
    default_response_class=DocumentedJSONResponse,
    responses=ERROR_RESPONSES,
    dependencies=[Depends(reject_unstorable_text)],
)
for part in (transfer, accounts, probes, jobs, users, keys, webhooks, error_rules, proxies, pool, usage):
    router.include_router(part)

TAGS = [
    {"name": "accounts", "description": "Upstream accounts of every kind: kiro, custom_api, dreamina"},
    {
        "name": "import and export",
        "description": "Bulk import with a result per line; export (Dreamina: own; Kiro: admins)",
    },
    {"name": "jobs", "description": "Long actions over many accounts: progress and per-account results"},
    {"name": "users", "description": "Users (admins) and the caller's own identity"},
    {"name": "API keys", "description": "PoolGate API keys: shown once, stored as hashes"},
    {"name": "webhooks", "description": "Alerts by signed webhook: secrets shown once; delivery logs"},
    {"name": "error rules", "description": "What an upstream error does to its account: match, then act"},
    {
        "name": "proxies",
        "description": "Egress proxies per account: passwords write-only, no direct fallback",
    },
    {"name": "pool", "description": "The pool's health: which accounts can serve now, and why not"},
    {"name": "usage", "description": "Calls, tokens and latency per hour, key, account and model"},
]
