"""The quota's share of an account's weight, and what the index makes of a stored reading."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from services.account_service.accounts.schemas import Account
from services.account_service.accounts.service import encrypt_secrets
from services.account_service.allocation import quota
from services.account_service.allocation.index import candidate_from
from shared.crypto import SecretBox

BOX = SecretBox(Fernet.generate_key().decode())
NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


def _account(**quota_fields) -> Account:
    return Account(
        id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        kind="custom_api",
        name="a",
        visibility="private",
        status="active",
        status_reason=None,
        status_changed_at=NOW,
        weight=100,
        max_concurrency=4,
        settings={"api_base": "https://api.example.com/v1", "format": "openai"},
        secrets=encrypt_secrets(BOX, {"api_key": "sk-test"}),
        success_count=0,
        fail_count=0,
        last_used_at=None,
        created_at=NOW,
        updated_at=NOW,
        **quota_fields,
    )


@pytest.mark.parametrize(
    ("remaining", "limit", "expected"),
    [
        (None, None, 1.0),
        (5, None, 1.0),
        (5, 0, 1.0),
        (45, 50, 0.9),
        (0, 50, quota.FLOOR),
        (1, 100, quota.FLOOR),
    ],
)
def test_the_factor_is_the_fraction_left_with_a_floor(remaining, limit, expected) -> None:
    assert quota.factor(remaining, limit) == pytest.approx(expected)


def test_spared_only_when_it_runs_out_before_the_reset() -> None:
    assert quota.spared(NOW, NOW + timedelta(minutes=1))
    assert not quota.spared(NOW + timedelta(minutes=2), NOW + timedelta(minutes=1))
    assert not quota.spared(None, NOW) and not quota.spared(NOW, None)


def test_pick_weights_are_whole_numbers_and_never_starve() -> None:
    assert quota.pick_weight(3, 0.5) == 150
    assert quota.pick_weight(1, 0.001) == 1
    assert quota.pick_weight(0, 1.0) == 0


def test_small_moves_are_not_announced_but_a_move_near_the_floor_is() -> None:
    assert not quota.worth_announcing(0.50, 0.52)
    assert quota.worth_announcing(0.50, 0.44)
    assert quota.worth_announcing(0.12, 0.09)


def test_the_index_weighs_the_account_until_its_reset() -> None:
    resets_at = NOW + timedelta(minutes=1)
    account = _account(
        quota_source="ratelimit_headers",
        quota_remaining=0.3,
        quota_limit=1.0,
        quota_resets_at=resets_at,
        quota_runs_out_at=NOW + timedelta(seconds=10),
        quota_updated_at=NOW,
    )
    candidate = candidate_from(account, BOX)
    assert candidate.pick_weight(NOW.timestamp()) == 30 * quota.SCALE
    assert candidate.spared(NOW.timestamp())
    after_reset = resets_at.timestamp() + 1
    assert candidate.pick_weight(after_reset) == 100 * quota.SCALE and not candidate.spared(after_reset)


def test_with_quota_routing_off_the_reading_does_not_weigh() -> None:
    account = _account(
        quota_source="kiro_usage_limits",
        quota_remaining=1,
        quota_limit=50,
        quota_resets_at=NOW + timedelta(days=3),
        quota_runs_out_at=NOW + timedelta(days=1),
        quota_updated_at=NOW,
    )
    candidate = candidate_from(account, BOX, quota_routing=False)
    assert candidate.pick_weight(NOW.timestamp()) == 100 * quota.SCALE and not candidate.spared(
        NOW.timestamp()
    )
    assert candidate_from(account, BOX).pick_weight(NOW.timestamp()) == 100 * quota.SCALE * quota.FLOOR


def test_an_account_that_never_said_keeps_its_weight() -> None:
    candidate = candidate_from(_account(), BOX)
    assert candidate.pick_weight(NOW.timestamp()) == 100 * quota.SCALE and candidate.quota_until is None
