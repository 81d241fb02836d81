"""Sticky sessions with Claude Code itself (tests/clients): a multi-turn session (`claude -p`, then
`--continue`) through a pool of three Anthropic-format accounts lands on one account, so the fake's
prompt cache (tests/fakes/_prompt_cache.py) hits on every turn after the first; when that account
is rate-limited, the next call moves to another account and stays there.

The hit rate is the share of the session's calls after the first whose answer read cached tokens."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_claude_code import CLAUDE
from tests.e2e.test_failover import _new_key, _script, _user

pytestmark = pytest.mark.e2e
MODEL = "claude-sonnet-4-6"


def _claude(stack: Stack, key: str, prompt: str, home: Path, *more: str) -> dict:
    assert CLAUDE.exists(), "Claude Code is missing: the test command installs it (make test-clients)"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": stack.proxy_url,
        "ANTHROPIC_AUTH_TOKEN": key,
        "ANTHROPIC_MODEL": MODEL,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-4-5",
        "ANTHROPIC_SMALL_FAST_MODEL": "claude-haiku-4-5",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "CI": "1",
    }
    done = subprocess.run(
        [str(CLAUDE), "-p", prompt, *more, "--output-format", "json", "--max-turns", "4"],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    result = json.loads(done.stdout)
    assert result["is_error"] is False, result
    return result


def _turns(stack: Stack, upstream_keys: dict[str, str]) -> list[tuple[str, int]]:
    """The session's main-model calls that reached the fake, in order: (account's upstream key,
    cached tokens read)."""
    with stack.fake("anthropic") as fake:
        logged = fake.get("/_fake/requests").json()
    return [
        (r["headers"]["x-api-key"], r.get("cache_read_input_tokens", 0))
        for r in logged
        if r["path"] == "/v1/messages"
        and r["headers"].get("x-api-key") in upstream_keys
        and (r["body"] or {}).get("model") == MODEL
        and "cache_read_input_tokens" in r
    ]


def _sticky_lookups(stack: Stack) -> dict[str, float]:
    """account_service's `poolgate_sticky_lookups_total` by result."""
    found = {}
    for line in httpx.get(f"{stack.account_service_url}/metrics").text.splitlines():
        if line.startswith("poolgate_sticky_lookups_total{"):
            labels, value = line.rsplit(" ", 1)
            found[labels.split('"')[1]] = float(value)
    return found


def _hit_rate(turns: list[tuple[str, int]]) -> float:
    later = turns[1:]
    return sum(1 for _, cached in later if cached > 0) / len(later)


async def _session(stack: Stack, key: str, home: Path, prompts: list[str], *, first: bool = True) -> None:
    """`prompts` in one Claude Code session: a new one (`first`), or the last one continued."""
    for n, prompt in enumerate(prompts):
        more = () if first and n == 0 else ("--continue",)
        await asyncio.to_thread(_claude, stack, key, prompt, home, *more)


async def test_a_claude_code_session_stays_on_one_account_and_its_cache_hits(stack: Stack, tmp_path) -> None:
    upstream = {_new_key("sticky"): name for name in ("a", "b", "c")}
    key, _ = await _user(stack, *(("claude", k) for k in upstream))
    before = _sticky_lookups(stack)
    prompts = ["Say hello", "Say it again", "What is the weather in Paris?", "Thanks"]
    await _session(stack, key, tmp_path, prompts)
    turns = _turns(stack, upstream)
    after = _sticky_lookups(stack)
    hits = after.get("hit", 0) - before.get("hit", 0)
    print(f"\nsticky lookups during the session: {after} (before: {before})")
    assert hits >= len(turns) - 1  # found by the binding, not by luck
    assert len(turns) >= 5, turns  # four prompts, one of them a tool round trip
    assert {account for account, _ in turns} == {turns[0][0]}, turns
    rate = _hit_rate(turns)
    print(f"\nsticky Claude Code session: {len(turns)} calls on one account, cache hit rate {rate:.0%}")
    assert rate == 1.0, turns


async def test_a_rate_limited_account_moves_the_session_and_it_stays_moved(stack: Stack, tmp_path) -> None:
    upstream = {_new_key("moved"): name for name in ("a", "b", "c")}
    key, _ = await _user(stack, *(("claude", k) for k in upstream))
    await _session(stack, key, tmp_path, ["Say hello", "Say it again"])
    bound = _turns(stack, upstream)[-1][0]
    _script(stack, "anthropic", bound, status=429, retry_after=30, times=1)
    await _session(stack, key, tmp_path, ["Once more", "And again", "Last one"], first=False)
    after = _turns(stack, upstream)[2:]
    moved = {account for account, _ in after}
    assert len(moved) == 1 and bound not in moved, after
    assert all(cached > 0 for _, cached in after[1:]), after  # the new account's cache warms and hits
    assert _sticky_lookups(stack).get("moved", 0) >= 1
