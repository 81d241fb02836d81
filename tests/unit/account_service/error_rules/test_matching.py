"""Which rule a failure matches: status only, substring (any case), RE2 expression, scope (owner,
kind, account), enabled, and order by position then age."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.account_service.error_rules.matching import (
    BadPattern,
    Failure,
    compile_pattern,
    compile_rules,
    first_match,
)
from services.account_service.error_rules.schemas import ErrorRule

OWNER = uuid.uuid4()
ACCOUNT = uuid.uuid4()
_T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rule(**fields) -> ErrorRule:
    values = {
        "id": uuid.uuid4(),
        "user_id": None,
        "position": 100,
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
        "created_at": _T0,
        "updated_at": _T0,
    } | fields
    return ErrorRule(**values)


def failure(status: int | None = 400, excerpt: str = "", kind: str = "custom_api") -> Failure:
    return Failure(account_id=ACCOUNT, kind=kind, owner_id=OWNER, status=status, excerpt=excerpt)


def match(rules: list[ErrorRule], f: Failure) -> ErrorRule | None:
    return first_match(compile_rules(rules), f)


def test_a_status_only_rule_matches_that_status_whatever_the_body() -> None:
    r = rule(status_code=403)
    assert match([r], failure(403, "anything")) is r
    assert match([r], failure(404, "anything")) is None
    assert match([r], failure(None, "")) is None


def test_a_substring_matches_in_any_case_and_with_the_status_when_both_are_given() -> None:
    r = rule(status_code=400, match_type="substring", pattern="Account Suspended")
    assert match([r], failure(400, '{"error":"your account suspended today"}')) is r
    assert match([r], failure(500, "account suspended")) is None
    assert match([r], failure(400, "account active")) is None


def test_a_regex_searches_the_excerpt() -> None:
    r = rule(match_type="regex", pattern=r"quota.*(exceeded|exhausted)\b")
    assert match([r], failure(429, "monthly quota exceeded.")) is r
    assert match([r], failure(429, "quota fine")) is None


def test_a_rule_is_scoped_to_its_owner_kind_and_account() -> None:
    assert match([rule(status_code=400, user_id=uuid.uuid4())], failure()) is None
    assert match([rule(status_code=400, user_id=OWNER)], failure()) is not None
    assert match([rule(status_code=400, kind="kiro")], failure(kind="custom_api")) is None
    assert match([rule(status_code=400, kind="kiro")], failure(kind="kiro")) is not None
    assert match([rule(status_code=400, account_id=uuid.uuid4())], failure()) is None
    assert match([rule(status_code=400, account_id=ACCOUNT)], failure()) is not None
    assert match([rule(status_code=400, enabled=False)], failure()) is None


def test_the_first_rule_by_position_then_age_decides() -> None:
    late = rule(status_code=400, position=5, created_at=_T0 + timedelta(seconds=1))
    early = rule(status_code=400, position=5, created_at=_T0)
    last = rule(status_code=400, position=1, enabled=False)
    assert match([late, last, early], failure()) is early
    first = rule(pattern="x", match_type="substring", position=0)
    assert match([late, early, first], failure(400, "x")) is first


@pytest.mark.parametrize("pattern", ["(unclosed", r"(a)\1", r"(?=look)ahead", "a{100000}"])
def test_patterns_re2_cannot_run_in_linear_time_are_refused(pattern: str) -> None:
    with pytest.raises(BadPattern, match="RE2"):
        compile_pattern(pattern)


def test_a_catastrophic_backtracking_pattern_runs_in_linear_time() -> None:
    compiled = compile_pattern(r"(a+)+$")
    assert compiled.search("a" * 50_000 + "!") is None  # a backtracking engine would never finish


def test_a_stored_pattern_re2_cannot_read_is_skipped_not_fatal() -> None:
    broken = rule(match_type="regex", pattern="((", position=0)
    good = rule(status_code=400, position=1)
    assert match([broken, good], failure(400, "((")) is good
