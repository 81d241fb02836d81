"""Webhooks and their deliveries."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.account_service.webhooks.schemas import DueDelivery, Webhook, WebhookDelivery, WebhookTarget

_COLUMNS = "id, user_id, operator_wide, url, alert_types, enabled, created_at, updated_at"
_DELIVERY_COLUMNS = (
    "id, webhook_id, alert_type, status, attempts, next_attempt_at, last_status_code, last_error,"
    " created_at, finished_at, body"
)


async def create(
    conn: asyncpg.Connection,
    *,
    user_id: UUID,
    operator_wide: bool,
    url: str,
    secret: str,
    alert_types: list[str],
    enabled: bool,
) -> Webhook:
    row = await conn.fetchrow(
        "INSERT INTO webhooks (user_id, operator_wide, url, secret, alert_types, enabled)"
        f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}",
        user_id,
        operator_wide,
        url,
        secret,
        alert_types,
        enabled,
    )
    return Webhook(**row)


async def get(conn: asyncpg.Connection, *, webhook_id: UUID) -> Webhook | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM webhooks WHERE id = $1", webhook_id)
    return Webhook(**row) if row else None


async def listing(conn: asyncpg.Connection, *, user_id: UUID | None) -> list[Webhook]:
    """A user's webhooks, or (None) everyone's."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM webhooks WHERE $1::uuid IS NULL OR user_id = $1"
        " ORDER BY created_at DESC, id",
        user_id,
    )
    return [Webhook(**row) for row in rows]


async def update(
    conn: asyncpg.Connection,
    *,
    webhook_id: UUID,
    url: str | None = None,
    alert_types: list[str] | None = None,
    enabled: bool | None = None,
) -> Webhook:
    row = await conn.fetchrow(
        "UPDATE webhooks SET url = coalesce($2, url), alert_types = coalesce($3, alert_types),"
        f" enabled = coalesce($4, enabled), updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
        webhook_id,
        url,
        alert_types,
        enabled,
    )
    return Webhook(**row)


async def delete(conn: asyncpg.Connection, *, webhook_id: UUID) -> None:
    await conn.execute("DELETE FROM webhooks WHERE id = $1", webhook_id)


async def targets(conn: asyncpg.Connection, *, user_id: UUID | None, alert_type: str) -> list[WebhookTarget]:
    """The enabled webhooks an alert about `user_id`'s things goes to: theirs, and every operator-wide
    one whose owner is still an enabled admin."""
    rows = await conn.fetch(
        "SELECT w.id, w.url, w.secret FROM webhooks w JOIN users u ON u.id = w.user_id"
        " WHERE w.enabled AND $2 = ANY (w.alert_types) AND u.disabled_at IS NULL"
        " AND (w.user_id = $1 OR (w.operator_wide AND u.is_admin))",
        user_id,
        alert_type,
    )
    return [WebhookTarget(**row) for row in rows]


async def add_deliveries(
    conn: asyncpg.Connection, *, webhook_ids: list[UUID], event_id: str, alert_type: str, bodies: list[str]
) -> list[UUID]:
    """New deliveries, due now; an event a webhook already has a delivery for adds none."""
    rows = await conn.fetch(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, alert_type, body, next_attempt_at)"
        " SELECT w, $2, $3, b, now() FROM unnest($1::uuid[], $4::text[]) AS t (w, b)"
        " ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING id",
        webhook_ids,
        event_id,
        alert_type,
        bodies,
    )
    return [row["id"] for row in rows]


async def get_delivery(conn: asyncpg.Connection, *, delivery_id: UUID) -> WebhookDelivery | None:
    row = await conn.fetchrow(
        f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1", delivery_id
    )
    return WebhookDelivery(**row) if row else None


async def deliveries(
    conn: asyncpg.Connection, *, webhook_id: UUID, limit: int, offset: int = 0
) -> list[WebhookDelivery]:
    rows = await conn.fetch(
        f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1"
        " ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
        webhook_id,
        limit,
        offset,
    )
    return [WebhookDelivery(**row) for row in rows]


async def claim_due(conn: asyncpg.Connection, *, limit: int, lease_s: float) -> list[DueDelivery]:
    """Due deliveries, each counted as one more attempt and moved `lease_s` into the future while it
    runs: rows another replica holds are skipped (SKIP LOCKED), and no two claim the same row."""
    rows = await conn.fetch(
        "WITH due AS (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()"
        "  ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
        " UPDATE webhook_deliveries d SET attempts = d.attempts + 1,"
        "  next_attempt_at = now() + make_interval(secs => $2)"
        " FROM due, webhooks w WHERE d.id = due.id AND w.id = d.webhook_id"
        " RETURNING d.id, d.webhook_id, d.alert_type, d.body, d.attempts, w.url, w.secret",
        limit,
        lease_s,
    )
    return [DueDelivery(**row) for row in rows]


async def finish_attempt(
    conn: asyncpg.Connection,
    *,
    delivery_id: UUID,
    attempt: int,
    status: str,
    status_code: int | None,
    error: str | None,
    retry_in_s: float | None,
) -> None:
    """The attempt's outcome; ignored if the row was claimed again meanwhile (its lease ran out)."""
    await conn.execute(
        "UPDATE webhook_deliveries SET status = $3, last_status_code = $4, last_error = $5,"
        " next_attempt_at = now() + make_interval(secs => $6),"
        " finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END"
        " WHERE id = $1 AND attempts = $2 AND status = 'pending'",
        delivery_id,
        attempt,
        status,
        status_code,
        error,
        retry_in_s,
    )


async def prune(conn: asyncpg.Connection | asyncpg.Pool, *, older_than_days: float) -> int:
    """Forget finished deliveries older than this; how many."""
    result = await conn.execute(
        "DELETE FROM webhook_deliveries WHERE status <> 'pending'"
        " AND created_at < now() - make_interval(secs => $1)",
        older_than_days * 86400,
    )
    return int(result.split()[-1])
