from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["cooldown", "exhausted", "disable", "ignore"]
MatchType = Literal["substring", "regex"]
RuleKind = Literal["kiro", "custom_api", "dreamina"]
ACTIONS: tuple[str, ...] = Action.__args__
MATCH_TYPES: tuple[str, ...] = MatchType.__args__
PATTERN_MAX_LENGTH = 1000
MAX_SECONDS = 31 * 24 * 3600
EXCERPT_MAX_LENGTH = 512  # what the proxy sends of an error body (`UsageRecorded.error_excerpt`)


class _RuleFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=100, description="A label for people")
    position: int | None = Field(
        default=None, ge=0, le=1_000_000, description="Order: the first matching rule (lowest) decides"
    )
    kind: RuleKind | None = Field(default=None, description="Only accounts of this kind (none: every kind)")
    account_id: UUID | None = Field(
        default=None, description="Only this account (none: every account in scope)"
    )
    status_code: int | None = Field(default=None, ge=100, le=599, description="The upstream's HTTP status")
    match_type: MatchType | None = Field(
        default=None, description="How `pattern` is read: a plain substring, or an RE2 regular expression"
    )
    pattern: str | None = Field(
        default=None,
        min_length=1,
        max_length=PATTERN_MAX_LENGTH,
        description="Looked for in the redacted error excerpt (at most 512 characters of the body)",
    )
    action: Action | None = Field(default=None, description="What a match does to the account")
    seconds: int | None = Field(
        default=None, ge=1, le=MAX_SECONDS, description="cooldown: how long; exhausted: for how long"
    )
    until_next_day: bool | None = Field(
        default=None, description="exhausted: until the next configured day begins (instead of `seconds`)"
    )
    reason: str | None = Field(
        default=None, max_length=200, description="Recorded on the account as its last error / status reason"
    )
    enabled: bool | None = None


class ErrorRuleCreate(_RuleFields):
    action: Action = Field(description="What a match does to the account")
    match_type: MatchType | None = Field(
        default="substring",
        description="How `pattern` is read: a plain substring, or an RE2 regular expression",
    )
    global_rule: bool = Field(
        default=False, description="Admins only: applies to every user's accounts, not only the owner's"
    )


class ErrorRuleUpdate(_RuleFields):
    """Fields to change; `null` for an optional condition (kind, account_id, status_code, pattern,
    seconds) clears it."""


class ErrorRule(BaseModel):
    id: UUID
    user_id: UUID | None = Field(description="The owner; none for a global (admin) rule")
    position: int
    name: str
    kind: RuleKind | None
    account_id: UUID | None
    status_code: int | None
    match_type: MatchType | None
    pattern: str | None
    action: Action
    seconds: int | None
    until_next_day: bool
    reason: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


class ErrorRuleTest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: int | None = Field(default=None, ge=100, le=599, description="The sample's HTTP status")
    body: str = Field(
        default="", max_length=100_000, description="The sample error body (redacted as the proxy does)"
    )
    kind: RuleKind | None = Field(default=None, description="The account kind to test for")
    account_id: UUID | None = Field(default=None, description="An account to test for (its kind and owner)")


class ErrorRuleVerdict(BaseModel):
    matched: bool
    rule: ErrorRule | None = Field(description="The first matching rule")
    excerpt: str = Field(description="The body as rules see it: redacted, at most 512 characters")
    action: Action | None
    effect: str = Field(description="What would happen to the account, in words")
