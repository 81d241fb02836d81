"""The signature receivers check: `X-PoolGate-Signature: t=<unix seconds>,v1=<hex>`, where the hex
is HMAC-SHA256 with the webhook's secret over `f"{t}.{body}"` (the exact bytes of the body). The
timestamp is signed too, so a receiver can refuse old replays; `X-PoolGate-Delivery` is the same
for every attempt of one delivery, so a receiver can drop one it has already handled."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-PoolGate-Signature"
EVENT_HEADER = "X-PoolGate-Event"
DELIVERY_HEADER = "X-PoolGate-Delivery"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, now: int, tolerance_s: int = 300) -> bool:
    """What a receiver does (and the README shows): recompute and compare in constant time."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))
