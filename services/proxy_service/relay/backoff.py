"""Waiting for the accounts already tried, when allocation has nothing else to offer.

After a retryable failure the attempt loop first asks for another account. Only when none is left
(allocation refuses) may the accounts already tried be tried again, after a wait: the upstream's own
Retry-After if it gave one, else the refusal's (when every candidate is cooling), else 5 s doubling;
each wait capped. Only passing trouble earns a wait (connect error, timeout, 429, 5xx): a refused
credential or a spent quota will not be better in a minute.

The account_service cools a rate-limited account from the moment it reads the attempt's usage event,
a little after the proxy saw the 429; so right after a wait the allocation may still say "cooling,
retry in 0.1 s". Such a re-wait is not a retry (no upstream was asked) and has its own bound.
"""

from __future__ import annotations

from dataclasses import dataclass

# Failure outcomes (see `outcome.py`) that say "try again later" rather than "this will not work".
PASSING_OUTCOMES = frozenset({"connect_error", "timeout", "rate_limited", "upstream_error"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    same_account_retries: int = 3
    base_delay_s: float = 5.0  # doubled on each retry without a Retry-After: 5, 10, 20 s
    max_wait_s: float = 60.0


class Backoff:
    """One client call's waits. `delay()` answers how long to wait, or None to give up."""

    __slots__ = ("_policy", "_waited", "retries", "rewaits")

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self.retries = 0  # waits that followed a failed attempt
        self.rewaits = 0  # waits that followed a refusal right after a wait
        self._waited = False  # a wait happened and no upstream was asked since

    def attempted(self) -> None:
        self._waited = False

    def delay(
        self, *, outcome: str | None, upstream_retry_after: float | None, refusal_retry_after: float | None
    ) -> float | None:
        """Seconds to wait before trying the accounts already tried, after allocation refused.

        `outcome` and `upstream_retry_after` are the last failed attempt's; `refusal_retry_after`
        is the allocation refusal's (None unless every candidate is cooling or busy)."""
        policy = self._policy
        if self._waited:
            if refusal_retry_after is None or self.rewaits >= policy.same_account_retries:
                return None  # nothing to wait for (the account is gone, invalid, ...), or waited enough
            self.rewaits += 1
            return self._cap(refusal_retry_after)
        if outcome not in PASSING_OUTCOMES or self.retries >= policy.same_account_retries:
            return None
        if upstream_retry_after is not None:
            delay = upstream_retry_after
        elif refusal_retry_after is not None:
            delay = refusal_retry_after
        else:
            delay = policy.base_delay_s * 2**self.retries
        self.retries += 1
        self._waited = True
        return self._cap(delay)

    def _cap(self, delay: float) -> float:
        return min(max(0.0, delay), self._policy.max_wait_s)
