"""Error rules end to end: a fake upstream answers an error whose body a rule matches, and the
account gets the rule's action, not the outcome's default: disabled with the rule's reason, cooled
instead of invalid, left active for an ignored failure; an error event sent after the stream started
reaches the rules too (its excerpt travels in `usage.recorded`). Each call sends a message of its own."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_kiro import _kiro_user
from tests.e2e.test_kiro import _script as _kiro_script

pytestmark = pytest.mark.e2e
MODEL = "claude-sonnet-4-6"


def _api(stack: Stack, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{stack.account_service_url}/api/v1", headers={"authorization": f"Bearer {key}"}, timeout=10
    )


def _rule(stack: Stack, key: str, **fields) -> dict:
    with _api(stack, key) as api:
        response = api.post("/error-rules", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


def _script(stack: Stack, upstream_key: str, **script) -> None:
    with stack.fake("anthropic") as fake:
        fake.post(f"/_fake/keys/{upstream_key}", json=script).raise_for_status()


def _ask(stack: Stack, key: str, *, stream: bool = False) -> httpx.Response:
    body = {
        "model": MODEL,
        "max_tokens": 50,
        "stream": stream,
        "messages": [{"role": "user", "content": f"question {uuid.uuid4().hex}"}],
    }
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    return httpx.post(f"{stack.proxy_url}/v1/messages", json=body, headers=headers, timeout=30)


def _account_when(stack: Stack, key: str, account_id: str, done, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    with _api(stack, key) as api:
        while True:
            account = api.get(f"/accounts/{account_id}").json()
            if done(account):
                return account
            assert time.monotonic() < deadline, f"the account never got there: {account}"
            time.sleep(0.1)


def test_a_matching_error_body_disables_the_account_with_the_rules_reason(stack: Stack) -> None:
    key, upstream_key, account = stack.user_with_account(fmt="claude")
    marker = uuid.uuid4().hex[:8]
    _rule(
        stack,
        key,
        pattern=f"organization {marker} has been disabled",
        action="disable",
        reason="org disabled",
    )
    _script(
        stack, upstream_key, status=400, message=f"This organization {marker} has been disabled.", times=1
    )
    assert _ask(stack, key).status_code == 400
    got = _account_when(stack, key, account["id"], lambda a: a["status"] != "active")
    assert got["status"] == "disabled" and got["status_reason"] == "org disabled"


def test_a_cooldown_rule_cools_a_rejected_account_instead_of_invalidating_it(stack: Stack) -> None:
    key, upstream_key, account = stack.user_with_account(fmt="claude")
    marker = uuid.uuid4().hex[:8]
    _rule(stack, key, status_code=403, pattern=marker, action="cooldown", seconds=300, reason="flaky 403")
    _script(stack, upstream_key, status=403, message=f"temporarily forbidden {marker}", times=1)
    _ask(stack, key)
    got = _account_when(stack, key, account["id"], lambda a: a["last_error"] == "flaky 403")
    assert got["status"] == "active"  # the default would have made a custom API account invalid
    with _api(stack, key) as api:
        deadline = time.monotonic() + 10
        while (api.get("/pool/health").json()["kinds"][0]["unavailable"]["cooling"]) != 1:
            assert time.monotonic() < deadline, "the account never cooled"
            time.sleep(0.1)


def test_an_ignore_rule_leaves_the_account_active_and_its_failures_uncounted(stack: Stack) -> None:
    key, upstream_key, account = stack.user_with_account(fmt="claude")
    marker = uuid.uuid4().hex[:8]
    _rule(stack, key, status_code=402, pattern=marker, action="ignore", reason="billing blip")
    _script(stack, upstream_key, status=402, message=f"credit balance is too low {marker}", times=1)
    _ask(stack, key)
    got = _account_when(stack, key, account["id"], lambda a: a["last_error"] == "billing blip")
    assert got["status"] == "active" and got["fail_count"] == 0  # by default: exhausted


def test_an_error_event_after_the_stream_started_reaches_the_rules(stack: Stack) -> None:
    key, upstream_key, account = stack.user_with_account(fmt="claude")
    marker = uuid.uuid4().hex[:8]
    _rule(
        stack,
        key,
        match_type="regex",
        pattern=f'overloaded {marker}$|overloaded {marker}"',
        action="disable",
        reason="mid-stream",
    )
    _script(stack, upstream_key, error_after_chunks=2, message=f"overloaded {marker}", times=1)
    answer = _ask(stack, key, stream=True)
    assert answer.status_code == 200 and b"event: error" in answer.content  # the client saw the error
    got = _account_when(stack, key, account["id"], lambda a: a["status"] != "active")
    assert got["status"] == "disabled" and got["status_reason"] == "mid-stream"


async def test_a_kiro_exception_frame_after_the_stream_started_reaches_the_rules(stack: Stack) -> None:
    user = await _kiro_user(stack, "us-east-1")
    ((lineage, account_id),) = user.accounts.items()
    _rule(
        stack,
        user.key,
        kind="kiro",
        pattern="InternalServerException",
        action="cooldown",
        seconds=300,
        reason="kiro hiccup",
    )
    _kiro_script(stack, lineage, fault="failure_frame", times=1)
    answer = await asyncio.to_thread(_ask, stack, user.key, stream=True)
    assert answer.status_code == 200 and b"event: error" in answer.content
    got = await asyncio.to_thread(_account_when, stack, user.key, account_id, lambda a: a["last_error"])
    assert got["last_error"] == "kiro hiccup" and got["status"] == "active"  # cooled, not disabled
