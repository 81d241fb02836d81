"""Limits per API key: requests per minute, calls at once, tokens per day, and the models it may ask for.

A key's own value overrides the operator's default (`POOLGATE_KEY_DEFAULT_*`); with neither, there is
no limit. The three counted limits are checked in the allocation's pick script (picker.py), in the
same Redis round trip that picks the account, so a refused call never reaches one; the allowed models
are checked before that, in memory. Only the first attempt of a client call is checked and counts as a
request: its retries on other accounts are the same call. Tokens are counted per key and configured
day from `usage.recorded` (usage/consumer.py, `KeyTokens` below).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from shared.errors import Forbidden, RateLimited

if TYPE_CHECKING:
    from services.account_service.keys.store import KeyStore

LimitName = Literal["requests_per_minute", "concurrency", "tokens_per_day"]
LIMIT_NAMES: tuple[LimitName, ...] = ("requests_per_minute", "concurrency", "tokens_per_day")


@dataclass(frozen=True, slots=True)
class LimitDefaults:
    """The operator's defaults, for keys that set none of their own; None: no limit."""

    requests_per_minute: int | None = None
    concurrency: int | None = None
    tokens_per_day: int | None = None


@dataclass(frozen=True, slots=True)
class Gate:
    """What the pick script checks and records for one allocation (picker.py). `check` is False for
    a retry of a call already let through: it is neither refused nor counted again, but its lease
    still holds one of the key's concurrent slots."""

    key_id: str
    check: bool
    requests_per_minute: int | None
    concurrency: int | None
    tokens_per_day: int | None
    day: date

    def lease_id(self, unique: str) -> str:
        """A lease id that names its key when the key's concurrency is limited, so that releasing or
        renewing the lease (by account and lease id alone) frees or keeps the key's slot too."""
        return f"{self.key_id}/{unique}" if self.concurrency else unique


def effective(own: int | None, default: int | None) -> int | None:
    return own if own is not None else default


def tokens_per_day(keys: KeyStore, defaults: LimitDefaults, key_id: str) -> int | None:
    """A key's tokens per day (its own, else the default), as this replica knows the key."""
    identity = keys.by_id(UUID(key_id))
    own = identity.tokens_per_day if identity is not None else None
    return effective(own, defaults.tokens_per_day)


def model_allowed(allowed: list[str] | None, model: str | None) -> bool:
    """Whether `model` is in the key's list: exact names, or patterns with `*` (`claude-*`). No list:
    every model. A call that names no model (an image call using the default) is not checked."""
    if not allowed or model is None:
        return True
    return any(model == entry or ("*" in entry and fnmatch.fnmatchcase(model, entry)) for entry in allowed)


def model_refused(model: str) -> Forbidden:
    message = f"model {model!r} is not allowed for this API key"
    return Forbidden(message, param="model", code="model_not_allowed")


def limit_reached(limit: str, value: int, retry_after_s: float) -> RateLimited:
    return RateLimited(
        f"{limit} limit of {value} reached for this API key",
        code=f"{limit}_exceeded",
        retry_after=max(1.0, retry_after_s),
    )
