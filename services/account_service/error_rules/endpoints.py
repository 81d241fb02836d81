"""`/api/v1/error-rules`: what an upstream failure does to its account, decided by the operator."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from services.account_service.deps import CurrentUser, Tx
from services.account_service.error_rules import service
from services.account_service.error_rules.schemas import (
    ErrorRule,
    ErrorRuleCreate,
    ErrorRuleTest,
    ErrorRuleUpdate,
    ErrorRuleVerdict,
)

router = APIRouter(prefix="/error-rules", tags=["error rules"])


@router.post("", status_code=201, summary="Create an error rule (admins: global ones too)")
async def create_rule(body: ErrorRuleCreate, conn: Tx, caller: CurrentUser) -> ErrorRule:
    return await service.create_rule(conn, actor=caller, spec=body)


@router.get("", summary="List error rules in the order they are tried (own and global; admins: all)")
async def list_rules(conn: Tx, caller: CurrentUser) -> list[ErrorRule]:
    return await service.list_rules(conn, actor=caller)


@router.post("/test", summary="Which rule a sample error (status and body) matches, and what it would do")
async def test_rules(body: ErrorRuleTest, conn: Tx, caller: CurrentUser) -> ErrorRuleVerdict:
    return await service.test_rules(conn, actor=caller, sample=body)


@router.get("/{rule_id}", summary="An error rule")
async def get_rule(rule_id: UUID, conn: Tx, caller: CurrentUser) -> ErrorRule:
    return await service.owned(conn, actor=caller, rule_id=rule_id)


@router.patch("/{rule_id}", summary="Change an error rule (null clears an optional condition)")
async def update_rule(rule_id: UUID, body: ErrorRuleUpdate, conn: Tx, caller: CurrentUser) -> ErrorRule:
    return await service.update_rule(conn, actor=caller, rule_id=rule_id, spec=body)


@router.delete("/{rule_id}", status_code=204, response_class=Response, summary="Delete an error rule")
async def delete_rule(rule_id: UUID, conn: Tx, caller: CurrentUser) -> Response:
    await service.delete_rule(conn, actor=caller, rule_id=rule_id)
    return Response(status_code=204)
