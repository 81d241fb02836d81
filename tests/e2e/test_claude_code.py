"""Claude Code itself (npm `@anthropic-ai/claude-code`, installed by the test command into
tests/clients/) against a Kiro account: `claude -p` with ANTHROPIC_BASE_URL at the proxy and a
PoolGate key as ANTHROPIC_AUTH_TOKEN. It sends `POST /v1/messages?beta=true` with its beta headers
and two dozen tools, and streams; a tool round trip (call → tool_result → answer) must work."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_kiro import FAKE_TEXT, _chat_calls, _kiro, _kiro_user

CLAUDE = Path(__file__).resolve().parents[1] / "clients" / "node_modules" / ".bin" / "claude"
pytestmark = pytest.mark.e2e


def _claude(stack: Stack, key: str, prompt: str, home: Path) -> subprocess.CompletedProcess[str]:
    assert CLAUDE.exists(), "Claude Code is missing: the test command installs it (make test-clients)"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": stack.proxy_url,
        "ANTHROPIC_AUTH_TOKEN": key,
        "ANTHROPIC_MODEL": "claude-sonnet-4-6",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-4-5",
        "ANTHROPIC_SMALL_FAST_MODEL": "claude-haiku-4-5",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "CI": "1",
    }
    return subprocess.run(
        [str(CLAUDE), "-p", prompt, "--output-format", "json", "--max-turns", "4"],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_claude_code_answers_through_a_kiro_account(stack: Stack, tmp_path: Path) -> None:
    user = await _kiro_user(stack, "us-east-1")
    _kiro(stack, "DELETE", "/_fake/requests")
    done = _claude(stack, user.key, "Say hello", tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    result = json.loads(done.stdout)
    assert result["is_error"] is False and result["result"] == FAKE_TEXT
    calls = _chat_calls(stack)
    assert calls, "Claude Code's call never reached Kiro"
    tools = calls[-1]["body"]["conversationState"]["currentMessage"]["userInputMessage"][
        "userInputMessageContext"
    ]
    assert len(tools["tools"]) >= 10  # Claude Code's own tools, all accepted by Kiro's rules


async def test_claude_code_tool_round_trip(stack: Stack, tmp_path: Path) -> None:
    user = await _kiro_user(stack, "us-east-1")
    _kiro(stack, "DELETE", "/_fake/requests")
    done = _claude(stack, user.key, "What is the weather in Paris?", tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    result = json.loads(done.stdout)
    # The fake called a tool, Claude Code ran it (or refused its input) and sent the tool_result back;
    # the fake's answer to a tool result quotes it.
    assert result["result"].startswith("The tool said:"), result
    assert result["num_turns"] >= 2
    with_results = [
        c
        for c in _chat_calls(stack)
        if c["body"]["conversationState"]["currentMessage"]["userInputMessage"]
        .get("userInputMessageContext", {})
        .get("toolResults")
    ]
    assert with_results, "no tool_result reached Kiro"
