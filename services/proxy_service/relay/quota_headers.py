"""What an upstream's rate-limit headers say is left (issue 14, "Quota-aware routing").

* OpenAI style: `x-ratelimit-limit-{requests,tokens}`, `x-ratelimit-remaining-{requests,tokens}` and
  `x-ratelimit-reset-{requests,tokens}`, a duration like `1s`, `6m0s`, `20ms` or `1h2m3.5s`.
* Anthropic: `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`,
  the reset an RFC 3339 time.

The answer is the tightest limit's fraction left and its reset; a limit whose headers are missing,
not numbers, or out of range is ignored, and None means no limit was readable. Runs once per
answer, so it only looks up the few header names it knows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

_OPENAI = ("requests", "tokens")
_ANTHROPIC = ("requests", "tokens", "input-tokens", "output-tokens")
_DURATION = re.compile(
    r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?"
)
_MAX_RESET = timedelta(days=31)

Quota = tuple[float, datetime | None]


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number >= 0 and number != float("inf") else None


def parse_duration(value: str | None) -> timedelta | None:
    """`6m0s`, `1s`, `20ms`, `1h2m3.5s`; a bare number is seconds."""
    if not value:
        return None
    value = value.strip()
    bare = _number(value)
    if bare is not None:
        return timedelta(seconds=bare)
    found = _DURATION.fullmatch(value)
    if found is None or not any(found.groups()):
        return None
    hours, minutes, seconds, millis = (float(g) if g else 0.0 for g in found.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds, milliseconds=millis)


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _tightest(found: list[Quota]) -> Quota | None:
    return min(found, key=lambda q: q[0]) if found else None


def _fraction(limit: str | None, remaining: str | None) -> float | None:
    total, left = _number(limit), _number(remaining)
    if total is None or left is None or total <= 0:
        return None
    return min(1.0, left / total)


def _reset(resets_at: datetime | None, now: datetime) -> datetime | None:
    if resets_at is None or not (now - timedelta(seconds=1) <= resets_at <= now + _MAX_RESET):
        return None
    return resets_at


def read(headers: Mapping[str, str], now: datetime | None = None) -> Quota | None:
    """The fraction left of the tightest rate limit the headers state, and when it resets."""
    found: list[Quota] = []
    openai = (
        headers.get("x-ratelimit-remaining-requests") is not None
        or headers.get("x-ratelimit-remaining-tokens") is not None
    )
    anthropic = (
        headers.get("anthropic-ratelimit-requests-remaining") is not None
        or headers.get("anthropic-ratelimit-tokens-remaining") is not None
        or headers.get("anthropic-ratelimit-input-tokens-remaining") is not None
    )
    if not openai and not anthropic:
        return None
    now = now or datetime.now(UTC)
    if openai:
        for name in _OPENAI:
            share = _fraction(
                headers.get(f"x-ratelimit-limit-{name}"), headers.get(f"x-ratelimit-remaining-{name}")
            )
            if share is not None:
                wait = parse_duration(headers.get(f"x-ratelimit-reset-{name}"))
                found.append((share, _reset(now + wait if wait is not None else None, now)))
    if anthropic:
        for name in _ANTHROPIC:
            prefix = f"anthropic-ratelimit-{name}"
            share = _fraction(headers.get(f"{prefix}-limit"), headers.get(f"{prefix}-remaining"))
            if share is not None:
                found.append((share, _reset(_parse_time(headers.get(f"{prefix}-reset")), now)))
    return _tightest(found)
