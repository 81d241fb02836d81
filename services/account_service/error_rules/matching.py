"""Which rule an upstream failure matches. Regular expressions are RE2 (google-re2): linear time
whatever the pattern and the text, so no rule can hang the usage consumer; backreferences and
lookaround, which need backtracking, are refused when the rule is saved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import re2

from services.account_service.error_rules.schemas import ErrorRule

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a bad pattern is the caller's 422, not a line on stderr
_OPTIONS.max_mem = 1 << 20  # a pattern whose program would need more is refused when saved


class BadPattern(ValueError):
    pass


def compile_pattern(pattern: str) -> re2._Regexp:
    """The compiled RE2 expression; BadPattern saying why it is not one."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = (
            exc.args[0].decode("utf-8", "replace")
            if exc.args and isinstance(exc.args[0], bytes)
            else str(exc)
        )
        raise BadPattern(f"not a valid RE2 regular expression: {reason}") from None


@dataclass(frozen=True, slots=True)
class Failure:
    """An upstream failure as rules see it."""

    account_id: UUID | None
    kind: str
    owner_id: UUID
    status: int | None
    excerpt: str


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: ErrorRule
    regex: re2._Regexp | None

    @classmethod
    def of(cls, rule: ErrorRule) -> CompiledRule:
        regex = compile_pattern(rule.pattern) if rule.match_type == "regex" and rule.pattern else None
        return cls(rule, regex)

    def matches(self, failure: Failure) -> bool:
        rule = self.rule
        if not rule.enabled:
            return False
        if rule.user_id is not None and rule.user_id != failure.owner_id:
            return False
        if rule.kind is not None and rule.kind != failure.kind:
            return False
        if rule.account_id is not None and rule.account_id != failure.account_id:
            return False
        if rule.status_code is not None and rule.status_code != failure.status:
            return False
        if rule.pattern is None:
            return True
        if self.regex is not None:
            return self.regex.search(failure.excerpt) is not None
        return rule.pattern.casefold() in failure.excerpt.casefold()


def compile_rules(rules: Sequence[ErrorRule]) -> list[CompiledRule]:
    """In the order they are tried: position, then age. A stored pattern RE2 cannot read (none is
    saved so; only a hand-edited row) is skipped rather than stopping every other rule."""
    ordered = sorted(rules, key=lambda r: (r.position, r.created_at, r.id))
    compiled = []
    for rule in ordered:
        try:
            compiled.append(CompiledRule.of(rule))
        except BadPattern:
            continue
    return compiled


def first_match(rules: Sequence[CompiledRule], failure: Failure) -> ErrorRule | None:
    for compiled in rules:
        if compiled.matches(failure):
            return compiled.rule
    return None
