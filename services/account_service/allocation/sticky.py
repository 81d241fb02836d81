"""Sticky sessions: a conversation stays on one account while that account can serve it, so the
upstream's prompt cache there hits.

The proxy names the call's session (proxy_service relay/session.py) and says whether to look its
binding up or only record it: a first turn keyed by nothing but its own text is picked like any call
(identical one-shot calls must spread over the pool) and records where it went, so its follow-up
turn finds the account whose cache it warmed; explicit keys are looked up on every call.

The binding is `<prefix>:sticky:<API key id>:<session>` in Redis, holding an account id, with a TTL
(`POOLGATE_STICKY_TTL_S`, renewed on each call; 0 turns the feature off). The pick script reads it in
the same round trip as the pick: the bound account is taken when it is a candidate of this call (it
serves the model, is enabled and valid, not excluded by a failover) and eligible now (not cooling,
under its own concurrency cap, so a binding never starves the others); otherwise the pick draws as
usual and the binding moves to the account drawn at once, so it never points at a stale one. A
caller's format preference comes first: the preferred tier is picked from before the others, and a
binding to an account outside it moves. While Redis is away (fallback.py) there are no bindings.
"""

from __future__ import annotations

from dataclasses import dataclass

_MAX_SESSION = 128


@dataclass(frozen=True, slots=True)
class Sticky:
    key: str  # `<API key id>:<session>`: two keys never share a binding
    ttl_ms: int
    lookup: bool  # False: record the binding only (a first turn keyed by its own text)


def sticky_for(key_id: str, session: str | None, *, lookup: bool, ttl_s: float) -> Sticky | None:
    if not session or ttl_s <= 0:
        return None
    return Sticky(f"{key_id}:{session}", max(1, int(ttl_s * 1000)), lookup)


def valid_session(value: object) -> bool:
    """A session key as the proxy sends it: a short string (a hex digest)."""
    return isinstance(value, str) and 0 < len(value) <= _MAX_SESSION
