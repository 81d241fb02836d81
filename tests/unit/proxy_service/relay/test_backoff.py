from __future__ import annotations

import pytest

from services.proxy_service.relay.backoff import Backoff, RetryPolicy

POLICY = RetryPolicy(same_account_retries=3, base_delay_s=5.0, max_wait_s=60.0)


@pytest.mark.parametrize(
    ("outcome", "upstream", "refusal", "delay"),
    [
        # The upstream's own Retry-After first, then the allocation refusal's, then the schedule.
        ("rate_limited", 1.0, 30.0, 1.0),
        ("rate_limited", None, 12.5, 12.5),
        ("rate_limited", None, None, 5.0),
        ("upstream_error", None, None, 5.0),
        ("timeout", None, None, 5.0),
        ("connect_error", 2.0, None, 2.0),
        # Every wait is capped; a negative one is none.
        ("rate_limited", 3600.0, None, 60.0),
        ("rate_limited", None, 90.0, 60.0),
        ("rate_limited", -3.0, None, 0.0),
        # Failures that a later try of the same account would not fix: give up at once.
        ("credential_rejected", 1.0, None, None),
        ("exhausted", 1.0, None, None),
        ("client_error", None, None, None),
        (None, None, None, None),  # no upstream was asked (an unsupported conversion)
    ],
)
def test_the_first_wait_after_a_failure(
    outcome: str | None, upstream: float | None, refusal: float | None, delay: float | None
) -> None:
    backoff = Backoff(POLICY)
    assert backoff.delay(outcome=outcome, upstream_retry_after=upstream, refusal_retry_after=refusal) == delay


def _fail_and_wait(backoff: Backoff, **kwargs: float | None) -> float | None:
    backoff.attempted()
    return backoff.delay(outcome="upstream_error", **kwargs)


def test_without_a_retry_after_the_waits_double_then_the_call_gives_up() -> None:
    backoff = Backoff(POLICY)
    waits = [_fail_and_wait(backoff, upstream_retry_after=None, refusal_retry_after=None) for _ in range(4)]
    assert waits == [5.0, 10.0, 20.0, None]
    assert backoff.retries == 3


def test_the_doubling_is_capped_too() -> None:
    backoff = Backoff(RetryPolicy(same_account_retries=6, base_delay_s=5.0, max_wait_s=60.0))
    waits = [_fail_and_wait(backoff, upstream_retry_after=None, refusal_retry_after=None) for _ in range(7)]
    assert waits == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0, None]


def test_no_retries_configured_means_no_wait() -> None:
    backoff = Backoff(RetryPolicy(same_account_retries=0))
    assert backoff.delay(outcome="rate_limited", upstream_retry_after=1.0, refusal_retry_after=None) is None


def test_a_refusal_right_after_a_wait_waits_for_the_cooldown_without_spending_a_retry() -> None:
    # The account_service cools the account from when it reads the usage event, a little after
    # the proxy saw the 429: right after waiting the Retry-After it may still say "cooling".
    backoff = Backoff(POLICY)
    assert backoff.delay(outcome="rate_limited", upstream_retry_after=1.0, refusal_retry_after=None) == 1.0
    assert backoff.delay(outcome="rate_limited", upstream_retry_after=1.0, refusal_retry_after=0.1) == 0.1
    assert backoff.retries == 1
    backoff.attempted()
    assert backoff.delay(outcome="rate_limited", upstream_retry_after=1.0, refusal_retry_after=None) == 1.0
    assert backoff.retries == 2


def test_a_refusal_right_after_a_wait_without_a_retry_after_gives_up() -> None:
    # Nothing to wait for: the account was deleted, disabled or found invalid meanwhile.
    backoff = Backoff(POLICY)
    assert backoff.delay(outcome="rate_limited", upstream_retry_after=1.0, refusal_retry_after=None) == 1.0
    assert backoff.delay(outcome="rate_limited", upstream_retry_after=1.0, refusal_retry_after=None) is None


def test_re_waits_are_bounded_too() -> None:
    # An account kept at its concurrency limit answers "retry in 1 s" for as long as it is busy.
    backoff = Backoff(POLICY)
    backoff.delay(outcome="rate_limited", upstream_retry_after=1.0, refusal_retry_after=None)
    rewaits = [
        backoff.delay(outcome="rate_limited", upstream_retry_after=1.0, refusal_retry_after=1.0)
        for _ in range(4)
    ]
    assert rewaits == [1.0, 1.0, 1.0, None]
