"""The webhook rules, shared by the management API and the console."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.account_service.users.schemas import Actor
from services.account_service.webhooks import repository, signing
from services.account_service.webhooks.schemas import (
    TEST_ALERT,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookUpdate,
)
from shared.crypto import SecretBox
from shared.errors import Forbidden, NotFound, Unprocessable
from shared.netguard import internal_address_of


async def ensure_reachable(url: str, *, allow_private: bool) -> None:
    """A webhook URL on an internal network is refused unless the operator allows private upstreams
    (SSRF: the same rule and setting as an account's `api_base`, shared/netguard.py); the dispatcher
    checks the address it connects to again."""
    if allow_private:
        return
    address = await internal_address_of(url)
    if address is not None:
        raise Unprocessable(
            f"url resolves to an address that is not globally routable ({address}); internal networks"
            " are refused unless the operator sets POOLGATE_ALLOW_PRIVATE_UPSTREAMS=true",
            param="url",
            code="webhook_address_refused",
        )


async def create_webhook(
    conn: asyncpg.Connection,
    box: SecretBox,
    *,
    actor: Actor,
    owner_id: UUID,
    spec: WebhookCreate,
    allow_private: bool,
) -> WebhookCreated:
    """The stored webhook and its secret, which is shown only now (stored encrypted)."""
    if spec.operator_wide and not actor.is_admin:
        raise Forbidden("only admins may create an operator-wide webhook", param="operator_wide")
    await ensure_reachable(spec.url, allow_private=allow_private)
    secret = signing.new_secret()
    webhook = await repository.create(
        conn,
        user_id=owner_id,
        operator_wide=spec.operator_wide,
        url=spec.url,
        secret=box.encrypt(secret),
        alert_types=list(spec.alert_types),
        enabled=spec.enabled,
    )
    return WebhookCreated(**webhook.model_dump(), secret=secret)


async def list_webhooks(conn: asyncpg.Connection, *, user_id: UUID | None) -> list[Webhook]:
    return await repository.listing(conn, user_id=user_id)


async def owned(conn: asyncpg.Connection, *, actor: Actor, webhook_id: UUID) -> Webhook:
    """The webhook, if the actor may see it: anyone else's is a 404, as if it did not exist."""
    webhook = await repository.get(conn, webhook_id=webhook_id)
    if webhook is None or not actor.may_see(webhook.user_id):
        raise NotFound("no such webhook", param="webhook_id")
    return webhook


async def update_webhook(
    conn: asyncpg.Connection, *, actor: Actor, webhook_id: UUID, spec: WebhookUpdate, allow_private: bool
) -> Webhook:
    await owned(conn, actor=actor, webhook_id=webhook_id)
    if spec.url is not None:
        await ensure_reachable(spec.url, allow_private=allow_private)
    return await repository.update(
        conn, webhook_id=webhook_id, url=spec.url, alert_types=spec.alert_types, enabled=spec.enabled
    )


async def delete_webhook(conn: asyncpg.Connection, *, actor: Actor, webhook_id: UUID) -> None:
    await owned(conn, actor=actor, webhook_id=webhook_id)
    await repository.delete(conn, webhook_id=webhook_id)


async def list_deliveries(
    conn: asyncpg.Connection, *, actor: Actor, webhook_id: UUID, page: int = 1, per_page: int = 50
) -> list[WebhookDelivery]:
    await owned(conn, actor=actor, webhook_id=webhook_id)
    return await repository.deliveries(
        conn, webhook_id=webhook_id, limit=per_page, offset=(page - 1) * per_page
    )


def alert_body(*, event_id: str, alert_type: str, occurred_at: datetime, data: dict[str, Any]) -> str:
    """The JSON every delivery of an alert carries (ids and facts, never a secret)."""
    return orjson.dumps(
        {"id": event_id, "type": alert_type, "occurred_at": occurred_at.isoformat(), "data": data}
    ).decode()


async def send_test(conn: asyncpg.Connection, *, actor: Actor, webhook_id: UUID) -> WebhookDelivery:
    """A `webhook.test` delivery, due now (the dispatcher is woken by the caller after the commit)."""
    webhook = await owned(conn, actor=actor, webhook_id=webhook_id)
    event_id = f"test-{uuid.uuid4().hex}"
    body = alert_body(
        event_id=event_id,
        alert_type=TEST_ALERT,
        occurred_at=datetime.now(UTC),
        data={"webhook_id": str(webhook.id), "requested_by": actor.username},
    )
    (delivery_id,) = await repository.add_deliveries(
        conn, webhook_ids=[webhook.id], event_id=event_id, alert_type=TEST_ALERT, bodies=[body]
    )
    delivery = await repository.get_delivery(conn, delivery_id=delivery_id)
    assert delivery is not None
    return delivery


async def enqueue_alert(
    conn: asyncpg.Connection,
    *,
    event_id: str,
    alert_type: str,
    user_id: UUID | None,
    occurred_at: datetime,
    data: dict[str, Any],
) -> int:
    """One delivery of the alert per webhook that wants it; how many were added."""
    found = await repository.targets(conn, user_id=user_id, alert_type=alert_type)
    if not found:
        return 0
    body = alert_body(event_id=event_id, alert_type=alert_type, occurred_at=occurred_at, data=data)
    added = await repository.add_deliveries(
        conn,
        webhook_ids=[t.id for t in found],
        event_id=event_id,
        alert_type=alert_type,
        bodies=[body] * len(found),
    )
    return len(added)
