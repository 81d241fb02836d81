"""The custom API section's own form (its list is `accounts.section`): the "Add custom API" dialog.

It calls what `POST /api/v1/accounts/custom_api` calls (`service.add_account`, with the operator's
choice on private upstreams), so the URL and SSRF rules are the API's. After an error the dialog
opens again with the message next to the field; the api_key field comes back empty (never written
into a page), with a note to paste it again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from services.account_service.accounts import service
from services.account_service.accounts.schemas import CustomApiCreate
from services.account_service.console import forms, web
from services.account_service.console.deps import ConsoleSession
from services.account_service.console.pages.accounts import section
from services.account_service.deps import Box, Days, PrivateUpstreamsAllowed, Tx
from shared.providers import KNOWN_PROVIDERS

router = APIRouter()

ADD_FIELDS = ("name", "api_base", "api_key", "format", "provider", "models")
# The provider field offers these (a datalist: any other name is allowed too).
web.env.globals["known_providers"] = KNOWN_PROVIDERS


def split_models(models: str) -> list[str]:
    """The models field: comma-separated names (the schema trims them and drops repeats)."""
    return [m for m in models.split(",") if m.strip()]


@router.post("/custom/add")
async def add_custom(
    request: Request,
    conn: Tx,
    box: Box,
    days: Days,
    session: ConsoleSession,
    allow_private: PrivateUpstreamsAllowed,
    api_base: Annotated[str, Form(max_length=4000)] = "",
    api_key: Annotated[str, Form(max_length=20_000)] = "",
    format: Annotated[str, Form(max_length=40)] = "",
    provider: Annotated[str, Form(max_length=400)] = "",
    models: Annotated[str, Form(max_length=20_000)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    async with forms.attempt(conn, ADD_FIELDS) as tried:
        spec = CustomApiCreate.model_validate(
            {
                "name": name or None,
                "api_base": api_base,
                "api_key": api_key,
                "format": format,
                "provider": provider or None,
                "models": split_models(models),
            }
        )
        await service.add_account(
            conn, box, actor=session.actor, spec=spec, allow_private_upstreams=allow_private
        )
    if tried.errors:
        values = {
            "name": name,
            "api_base": api_base,
            "format": format,
            "provider": provider,
            "models": models,
        }
        form = {"errors": tried.errors, "values": values, "open": True}
        return await section(request, conn, box, days, session, "custom_api", status_code=422, add=form)
    return web.redirect("/custom?notice=created", request=request)
