"""Console sessions: a random token in an `HttpOnly`, `SameSite=Lax` cookie (`Secure` when the
console is reached over TLS), stored in PostgreSQL only as its SHA-256, with a CSRF token of its own.
A session ends after `console_session_idle_h` without a page view, at sign-out, when the user is
disabled, and (all but the current one) when the password changes (`users/repository.end_sessions`)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from services.account_service.users.schemas import Actor

COOKIE = "pg_session"
_TOUCH_EVERY = timedelta(minutes=1)  # a page view moves the expiry at most this often (one write)


@dataclass(frozen=True, slots=True)
class Session:
    actor: Actor
    csrf_token: str
    token_hash: bytes


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def start(conn: asyncpg.Connection, *, user_id: UUID, idle: timedelta, now: datetime) -> str:
    """A new session for a user who just signed in; returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO console_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $4, $5)",
        _hash(token),
        user_id,
        secrets.token_urlsafe(32),
        now,
        now + idle,
    )
    await conn.execute("DELETE FROM console_sessions WHERE expires_at < $1", now)  # cheap, indexed
    return token


async def load(conn: asyncpg.Connection, *, token: str, idle: timedelta, now: datetime) -> Session | None:
    """The live session behind a cookie, its expiry moved on; None when it ended or never was."""
    row = await conn.fetchrow(
        "SELECT s.token_hash, s.csrf_token, s.last_seen_at, u.id, u.username, u.is_admin"
        " FROM console_sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
        _hash(token),
        now,
    )
    if row is None:
        return None
    if now - row["last_seen_at"] >= _TOUCH_EVERY:
        await conn.execute(
            "UPDATE console_sessions SET last_seen_at = $2, expires_at = $3 WHERE token_hash = $1",
            row["token_hash"],
            now,
            now + idle,
        )
    actor = Actor(user_id=row["id"], username=row["username"], is_admin=row["is_admin"])
    return Session(actor=actor, csrf_token=row["csrf_token"], token_hash=row["token_hash"])


async def end(conn: asyncpg.Connection, *, token: str) -> None:
    await conn.execute("DELETE FROM console_sessions WHERE token_hash = $1", _hash(token))
