from __future__ import annotations

import asyncpg
import orjson
from pydantic import ValidationError

from services.account_service.accounts import repository
from services.account_service.accounts.schemas import Account, CustomApiCreate
from services.account_service.outbox.writer import record
from services.account_service.users.service import get_user
from shared.crypto import SecretBox
from shared.errors import Unprocessable
from shared.messages.contracts import AccountCreated


def validation_error(exc: ValidationError) -> Unprocessable:
    """The first problem of a pydantic error, as a 422 naming the field."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    message = first["msg"].removeprefix("Value error, ")
    return Unprocessable(f"{field}: {message}" if field else message, param=field)


def parse_custom(data: dict) -> CustomApiCreate:
    try:
        return CustomApiCreate.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from exc


async def add_custom(conn: asyncpg.Connection, box: SecretBox, *, username: str, spec: CustomApiCreate) -> Account:
    """Store a custom API account (active at once: its key is checked by the first call) and announce it."""
    owner = await get_user(conn, username=username)
    account = await repository.insert(
        conn,
        owner_id=owner.id,
        kind="custom_api",
        name=spec.display_name(),
        visibility=spec.visibility,
        status="active",
        weight=spec.weight,
        max_concurrency=spec.max_concurrency,
        settings=spec.settings(),
        secrets=box.encrypt(orjson.dumps({"api_key": spec.api_key}).decode()),
    )
    await record(conn, AccountCreated(account_id=str(account.id), kind="custom_api", owner_id=str(owner.id)))
    return account


def decrypt_secrets(box: SecretBox, account: Account) -> dict[str, str]:
    return orjson.loads(box.decrypt(account.secrets))
