"""What a matched error rule does to its account, in the usage consumer's transaction. Its action
replaces the outcome's default consequence (usage/outcomes.py): no credential check, no quota
reading, no 429 cooldown, no server-error streak; the rule's reason is recorded as the account's last
error (and as its status reason when the status changes)."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from services.account_service.accounts import repository as accounts
from services.account_service.accounts.schemas import Account
from services.account_service.accounts.service import change_status
from services.account_service.error_rules.schemas import ErrorRule
from shared.day_boundary import DayBoundary
from shared.logging import get_logger

log = get_logger(__name__)

# The statuses a rule takes an account out of the pool from; a person's `disabled` is left alone.
_IN_POOL = ("active",)


def rule_reason(rule: ErrorRule, *, status: int | None) -> str:
    said = rule.reason or f"error rule {rule.name or rule.id}"
    return f"{said} (HTTP {status})" if status is not None and not rule.reason else said


async def apply(
    conn: asyncpg.Connection, *, rule: ErrorRule, account: Account, status: int | None, days: DayBoundary
) -> tuple[Account, float | None]:
    """Apply `rule` to the (locked) account: the account in the status the rule left it in, and the
    seconds to cool it for after the commit, if any."""
    reason = rule_reason(rule, status=status)
    await accounts.set_last_error(conn, account_id=account.id, error=reason)
    log.info(
        "account.error_rule_matched", account_id=str(account.id), rule_id=str(rule.id), action=rule.action
    )
    if rule.action == "cooldown":
        return account, float(rule.seconds or 0) or None
    if rule.action == "ignore" or account.status not in _IN_POOL:
        return account, None
    if rule.action == "disable":
        account = await change_status(conn, account=account, status="disabled", reason=reason)
    elif rule.action == "exhausted":
        now = days.now()
        until = days.next_start(now) if rule.until_next_day else now + timedelta(seconds=rule.seconds or 0)
        account = await change_status(conn, account=account, status="exhausted", reason=reason, until=until)
    return account, None
