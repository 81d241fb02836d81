"""Console passwords: argon2id hashes (argon2-cffi's defaults, RFC 9106's low-memory profile), set by
the user, an admin or `poolgate users set-password`; sign-in with a lock-out after repeated failures.

Hashing costs ~50 ms of CPU by design, so it runs in a thread (argon2-cffi releases the GIL) and never
stalls the allocations answered on the same event loop. A sign-in for a user that does not exist, or
has no password yet, still verifies against a dummy hash, so the answer's timing does not tell which
usernames exist; every refusal says the same thing, except a lock-out, which says when to try again."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.account_service.users import repository
from services.account_service.users.schemas import User
from shared.errors import Unprocessable

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 takes any length; a megabyte "password" would only cost us hashing time
_LOCKOUT_CAP_S = 86_400.0

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def check_new(password: str, *, param: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise Unprocessable(f"a password needs at least {MIN_LENGTH} characters", param=param)
    if len(password) > MAX_LENGTH:
        raise Unprocessable(f"a password has at most {MAX_LENGTH} characters", param=param)


def generate() -> str:
    """An initial password for a new admin: 20 URL-safe characters (~120 bits)."""
    return secrets.token_urlsafe(15)


async def set_password(
    conn: asyncpg.Connection, *, user_id: UUID, password: str, keep_session: bytes | None = None
) -> None:
    """Store a new password for a user, lift any lock-out and end their console sessions, but the one
    (its token hash) they changed it from."""
    check_new(password)
    hashed = await asyncio.to_thread(_hasher.hash, password)
    await conn.execute(
        "UPDATE users SET password_hash = $2, password_changed_at = now(), failed_sign_ins = 0,"
        " locked_until = NULL WHERE id = $1",
        user_id,
        hashed,
    )
    await repository.end_sessions(conn, user_id=user_id, keep=keep_session)


async def is_set(conn: asyncpg.Connection, *, user_id: UUID) -> bool:
    return await conn.fetchval("SELECT password_hash IS NOT NULL FROM users WHERE id = $1", user_id) or False


async def matches(conn: asyncpg.Connection, *, user_id: UUID, password: str) -> bool:
    """Whether `password` is the user's current one (changing it asks for the old one)."""
    hashed = await conn.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
    return await _verify(hashed or _DUMMY_HASH, password) and hashed is not None


@dataclass(frozen=True, slots=True)
class Refused:
    """A refused sign-in; `locked_until` is set when the user is (now) locked out."""

    locked_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Lockout:
    max_failures: int
    first_s: float

    def until(self, failures: int, now: datetime) -> datetime | None:
        if failures < self.max_failures:
            return None
        seconds = min(self.first_s * 2 ** (failures - self.max_failures), _LOCKOUT_CAP_S)
        return now + timedelta(seconds=seconds)


async def sign_in(
    conn: asyncpg.Connection, *, username: str, password: str, lockout: Lockout, now: datetime
) -> User | Refused:
    row = await conn.fetchrow(
        "SELECT id, username, is_admin, disabled_at, created_at, password_hash, locked_until"
        " FROM users WHERE username = $1 FOR UPDATE",
        username,
    )
    if row is None or row["password_hash"] is None:
        await _verify(_DUMMY_HASH, password)
        return Refused()
    if row["locked_until"] is not None and row["locked_until"] > now:
        return Refused(locked_until=row["locked_until"])  # not even verified: no guessing while locked
    if not await _verify(row["password_hash"], password):
        failures = await conn.fetchval(
            "UPDATE users SET failed_sign_ins = failed_sign_ins + 1 WHERE id = $1 RETURNING failed_sign_ins",
            row["id"],
        )
        until = lockout.until(failures, now)
        if until is not None:
            await conn.execute("UPDATE users SET locked_until = $2 WHERE id = $1", row["id"], until)
        return Refused(locked_until=until)
    if row["disabled_at"] is not None:
        return Refused()  # the same answer as a wrong password: a disabled user learns nothing here
    rehash = _hasher.check_needs_rehash(row["password_hash"])
    new_hash = await asyncio.to_thread(_hasher.hash, password) if rehash else row["password_hash"]
    await conn.execute(
        "UPDATE users SET failed_sign_ins = 0, locked_until = NULL, password_hash = $2 WHERE id = $1",
        row["id"],
        new_hash,
    )
    return User(
        **{k: row[k] for k in ("id", "username", "is_admin", "disabled_at", "created_at")}, has_password=True
    )


async def _verify(hashed: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, hashed, password)
    except (VerificationError, InvalidHashError):
        return False
