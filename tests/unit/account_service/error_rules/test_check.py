"""A rule's fields must agree: each refusal names the field to fix."""

from __future__ import annotations

import pytest

from services.account_service.error_rules.service import check, effect
from shared.errors import Unprocessable
from tests.unit.account_service.error_rules.test_matching import rule

BASE = {
    "position": 1,
    "name": "",
    "kind": None,
    "account_id": None,
    "status_code": None,
    "match_type": None,
    "pattern": None,
    "action": "ignore",
    "seconds": None,
    "until_next_day": False,
    "reason": "",
    "enabled": True,
}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({}, "pattern"),
        ({"pattern": "(x", "match_type": "regex"}, "pattern"),
        ({"status_code": 500, "action": "cooldown"}, "seconds"),
        ({"status_code": 500, "action": "cooldown", "seconds": 5, "until_next_day": True}, "until_next_day"),
        ({"status_code": 500, "action": "exhausted"}, "seconds"),
        ({"status_code": 500, "action": "ignore", "seconds": 5}, "seconds"),
    ],
)
def test_disagreeing_fields_are_refused_by_name(fields: dict, param: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        check(BASE | fields)
    assert caught.value.param == param and caught.value.status_code == 422


def test_a_pattern_defaults_to_a_substring_and_no_pattern_has_no_match_type() -> None:
    values = BASE | {"pattern": "x"}
    check(values)
    assert values["match_type"] == "substring"
    values = BASE | {"status_code": 500, "match_type": "regex"}
    check(values)
    assert values["match_type"] is None


def test_the_effect_says_what_happens() -> None:
    assert "cools down for 60 s (slow)" in effect(rule(action="cooldown", seconds=60, reason="slow"))
    assert "until the next day" in effect(rule(action="exhausted", until_next_day=True))
    assert "disabled" in effect(rule(action="disable"))
    assert "does not count" in effect(rule(action="ignore"))
    assert "default" in effect(None)
