"""The error rules a usage consumer replica applies, kept in memory: each batch reads the one-row
version (error_rules_version, moved by every change) and reloads the rules only when it moved, so a
rule saved on any replica applies from the next batch on every replica, at the cost of one tiny read."""

from __future__ import annotations

import asyncpg

from services.account_service.error_rules import repository
from services.account_service.error_rules.matching import CompiledRule, compile_rules


class RuleCache:
    def __init__(self) -> None:
        self._version: int | None = None
        self._rules: list[CompiledRule] = []

    async def current(self, conn: asyncpg.Connection) -> list[CompiledRule]:
        version = await repository.version(conn)
        if version != self._version:
            self._rules = compile_rules(await repository.listing(conn, user_id=None))
            self._version = version
        return self._rules
