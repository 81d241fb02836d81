"""The error rule rules, shared by the management API and the console: who may see and change which
rule, what a rule must say to be saved, and what a sample error would do."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from services.account_service.accounts import service as accounts
from services.account_service.error_rules import repository
from services.account_service.error_rules.matching import (
    BadPattern,
    Failure,
    compile_pattern,
    compile_rules,
    first_match,
)
from services.account_service.error_rules.schemas import (
    ErrorRule,
    ErrorRuleCreate,
    ErrorRuleTest,
    ErrorRuleUpdate,
    ErrorRuleVerdict,
)
from services.account_service.users.schemas import Actor
from shared.error_excerpt import error_excerpt
from shared.errors import Forbidden, NotFound, Unprocessable

DEFAULT_POSITION = 100


def check(values: dict[str, Any]) -> None:
    """A rule's fields agree with each other; else a 422 naming the field to fix."""
    if values["pattern"] is not None and values["match_type"] is None:
        values["match_type"] = "substring"
    if values["pattern"] is None:
        values["match_type"] = None
    if values["status_code"] is None and values["pattern"] is None:
        raise Unprocessable("pattern: a rule needs a status_code, a pattern, or both", param="pattern")
    if values["match_type"] == "regex":
        try:
            compile_pattern(values["pattern"])
        except BadPattern as exc:
            raise Unprocessable(f"pattern: {exc}", param="pattern", code="bad_pattern") from None
    action = values["action"]
    if action == "cooldown" and values["seconds"] is None:
        raise Unprocessable("seconds: a cooldown needs its length in seconds", param="seconds")
    if action == "exhausted" and (values["seconds"] is None) == (not values["until_next_day"]):
        raise Unprocessable(
            "seconds: an exhausted rule needs either seconds or until_next_day (not both)", param="seconds"
        )
    if action in ("disable", "ignore"):
        if values["seconds"] is not None:
            raise Unprocessable(f"seconds: a {action} rule takes no seconds", param="seconds")
        values["until_next_day"] = False
    if action == "cooldown" and values["until_next_day"]:
        raise Unprocessable(
            "until_next_day: only an exhausted rule lasts until the next day", param="until_next_day"
        )


async def _check_scope(
    conn: asyncpg.Connection, *, actor: Actor, owner_id: UUID | None, values: dict
) -> None:
    account_id = values["account_id"]
    if account_id is None:
        return
    account = await accounts.get_account(conn, actor=actor, account_id=account_id)
    if owner_id is not None and account.owner_id != owner_id:
        raise Unprocessable("account_id: the account is not the rule owner's", param="account_id")


async def create_rule(conn: asyncpg.Connection, *, actor: Actor, spec: ErrorRuleCreate) -> ErrorRule:
    if spec.global_rule and not actor.is_admin:
        raise Forbidden("only admins may create a global error rule", param="global_rule")
    owner_id = None if spec.global_rule else actor.user_id
    values = spec.model_dump(exclude={"global_rule"})
    values["position"] = DEFAULT_POSITION if values["position"] is None else values["position"]
    values["name"] = values["name"] or ""
    values["reason"] = values["reason"] or ""
    values["until_next_day"] = bool(values["until_next_day"])
    values["enabled"] = True if values["enabled"] is None else values["enabled"]
    check(values)
    await _check_scope(conn, actor=actor, owner_id=owner_id, values=values)
    return await repository.create(conn, user_id=owner_id, values=values)


async def list_rules(conn: asyncpg.Connection, *, actor: Actor) -> list[ErrorRule]:
    """A user's own rules and the global ones (shown, not changeable); an admin's: every rule."""
    return await repository.listing(conn, user_id=None if actor.is_admin else actor.user_id)


async def owned(conn: asyncpg.Connection, *, actor: Actor, rule_id: UUID, change: bool = False) -> ErrorRule:
    """The rule if the actor may see it (and, with `change`, change it); else 404 (or 403 for a
    global rule a user can see but not change)."""
    rule = await repository.get(conn, rule_id=rule_id)
    if rule is None or (rule.user_id is not None and not actor.may_see(rule.user_id)):
        raise NotFound("no such error rule", param="rule_id")
    if change and rule.user_id is None and not actor.is_admin:
        raise Forbidden("only admins may change a global error rule", param="rule_id")
    return rule


async def update_rule(
    conn: asyncpg.Connection, *, actor: Actor, rule_id: UUID, spec: ErrorRuleUpdate
) -> ErrorRule:
    rule = await owned(conn, actor=actor, rule_id=rule_id, change=True)
    values = {f: getattr(rule, f) for f in repository.FIELDS}
    changes = spec.model_dump(exclude_unset=True)
    for required in ("position", "name", "action", "until_next_day", "reason", "enabled"):
        if required in changes and changes[required] is None:
            raise Unprocessable(f"{required}: may not be null", param=required)
    values.update(changes)
    check(values)
    await _check_scope(conn, actor=actor, owner_id=rule.user_id, values=values)
    return await repository.update(conn, rule_id=rule_id, values=values)


async def delete_rule(conn: asyncpg.Connection, *, actor: Actor, rule_id: UUID) -> None:
    await owned(conn, actor=actor, rule_id=rule_id, change=True)
    await repository.delete(conn, rule_id=rule_id)


def effect(rule: ErrorRule | None) -> str:
    """What a match does, in words (the console shows it)."""
    if rule is None:
        return "no rule matches: the outcome's default consequence applies"
    reason = f" ({rule.reason})" if rule.reason else ""
    if rule.action == "cooldown":
        return f"the account cools down for {rule.seconds} s{reason}"
    if rule.action == "exhausted":
        until = "until the next day begins" if rule.until_next_day else f"for {rule.seconds} s"
        return f"the account is marked exhausted {until}{reason}"
    if rule.action == "disable":
        return f"the account is disabled{reason}"
    return f"the failure is ignored: it does not count against the account{reason}"


async def test_rules(conn: asyncpg.Connection, *, actor: Actor, sample: ErrorRuleTest) -> ErrorRuleVerdict:
    """Which rule a sample failure would match, for the given account (or any account of a kind)."""
    if sample.account_id is not None:
        account = await accounts.get_account(conn, actor=actor, account_id=sample.account_id)
        failure_of = {"account_id": account.id, "kind": account.kind, "owner_id": account.owner_id}
        rules = await repository.listing(conn, user_id=account.owner_id)
    else:
        if sample.kind is None:
            raise Unprocessable("kind: give a kind or an account_id to test for", param="kind")
        failure_of = {"account_id": None, "kind": sample.kind, "owner_id": actor.user_id}
        rules = await repository.listing(conn, user_id=actor.user_id)
    excerpt = error_excerpt(sample.body) or ""
    failure = Failure(status=sample.status, excerpt=excerpt, **failure_of)
    # Without an account, a rule for one account cannot be judged: only kind-wide rules are tried.
    candidates = [r for r in rules if sample.account_id is not None or r.account_id is None]
    rule = first_match(compile_rules(candidates), failure)
    return ErrorRuleVerdict(
        matched=rule is not None,
        rule=rule,
        excerpt=excerpt,
        action=rule.action if rule else None,
        effect=effect(rule),
    )
