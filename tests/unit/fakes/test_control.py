"""Control API, scripts, reply splitting and the process entry point of both fakes."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request

from tests.fakes._content import split_text
from tests.fakes._control import DEFAULT_CONFIG, LOG_LIMIT, STATE, FakeState

REPO = Path(__file__).resolve().parents[3]
MESSAGES = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(params=["openai", "anthropic"])
def fake(request):
    """Either fake with a minimal valid request for it: (client, path, headers, body)."""
    client = request.getfixturevalue(f"{request.param}_fake")
    if request.param == "openai":
        return (
            client,
            "/v1/chat/completions",
            {"Authorization": "Bearer k1"},
            {"model": "m", "messages": MESSAGES},
        )
    return client, "/v1/messages", {"x-api-key": "k1"}, {"model": "m", "max_tokens": 16, "messages": MESSAGES}


def reply_text(payload: dict) -> str:
    if "choices" in payload:
        return payload["choices"][0]["message"]["content"]
    return payload["content"][0]["text"]


async def test_health_and_config_merge(fake):
    client, path, headers, body = fake
    assert (await (await client.get("/_fake/health")).json()) == {"ok": True}

    merged = await (await client.post("/_fake/config", json={"text": "Merged reply"})).json()
    assert merged == {**DEFAULT_CONFIG, "text": "Merged reply"}
    assert reply_text(await (await client.post(path, json=body, headers=headers)).json()) == "Merged reply"

    resp = await client.post("/_fake/config", json={"txet": "typo"})
    assert resp.status == 400
    resp = await client.post("/_fake/config", json={"delay_ms": -1})
    assert resp.status == 400


async def test_key_scripts_set_show_and_clear(fake):
    client, path, headers, body = fake
    resp = await client.post("/_fake/keys/k1", json={"status": 429, "retry_after": 3})
    assert (await resp.json())["script"] == {"status": 429, "retry_after": 3}
    assert (await (await client.get("/_fake/config")).json())["keys"] == {
        "k1": {"status": 429, "retry_after": 3}
    }

    limited = await client.post(path, json=body, headers=headers)
    assert limited.status == 429
    assert limited.headers["Retry-After"] == "3"
    other = await client.post(path, json=body, headers={k: v.replace("k1", "k2") for k, v in headers.items()})
    assert other.status == 200  # scripts are per key

    await client.post("/_fake/keys/k1", json={})
    assert (await client.post(path, json=body, headers=headers)).status == 200
    assert (await client.post("/_fake/keys/k1", json={"stauts": 500})).status == 400


async def test_key_script_overrides_config(fake):
    client, path, headers, body = fake
    await client.post("/_fake/keys/k1", json={"text": "Slow account", "delay_ms": 1})
    assert reply_text(await (await client.post(path, json=body, headers=headers)).json()) == "Slow account"


async def test_request_log_and_reset(fake):
    client, path, headers, body = fake
    await client.post(f"{path}?beta=true", json=body, headers=headers)
    (entry,) = await (await client.get("/_fake/requests")).json()
    assert entry["method"] == "POST"
    assert entry["path"] == path
    assert entry["query"] == {"beta": "true"}
    assert entry["body"] == body
    assert entry["headers"]["content-type"] == "application/json"

    await client.delete("/_fake/requests")
    assert await (await client.get("/_fake/requests")).json() == []

    await client.post(path, json=body, headers=headers)
    await client.post("/_fake/config", json={"text": "changed"})
    await client.post("/_fake/keys/k1", json={"status": 500})
    await client.post("/_fake/reset")
    assert await (await client.get("/_fake/requests")).json() == []
    assert await (await client.get("/_fake/config")).json() == {"config": DEFAULT_CONFIG, "keys": {}}
    assert client.app[STATE].config == DEFAULT_CONFIG


async def test_log_can_be_switched_off(fake):
    client, path, headers, body = fake
    await client.post("/_fake/config", json={"log_requests": False})
    await client.post(path, json=body, headers=headers)
    assert await (await client.get("/_fake/requests")).json() == []


def test_log_keeps_the_last_1000():
    state = FakeState()
    request = make_mocked_request("POST", "/v1/messages?beta=true")
    for i in range(LOG_LIMIT + 5):
        state.log(request, {"i": i}, b"")
    assert len(state.requests) == LOG_LIMIT
    assert state.requests[0]["body"] == {"i": 5}
    assert state.requests[-1]["body"] == {"i": LOG_LIMIT + 4}
    assert state.requests[-1]["query"] == {"beta": "true"}


def test_times_counts_only_requests_a_script_changes():
    state = FakeState()
    state.scripts["k"] = {"break_after_chunks": 2, "times": 1}
    assert state.take_script("k", streaming=False) == {}  # a break cannot apply to a plain response
    assert state.take_script("k", streaming=True)["break_after_chunks"] == 2
    assert state.take_script("k", streaming=True) == {}
    state.scripts["k"] = {"status": 500, "times": 2}
    assert [bool(state.take_script("k", streaming=False)) for _ in range(3)] == [True, True, False]


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        ("Hello from the fake", 2, ["Hello from ", "the fake"]),
        ("Hello from the fake", 4, ["Hello ", "from ", "the ", "fake"]),
        ("abc", 3, ["a", "b", "c"]),
        ("ab", 4, ["a", "b", " ab", " ab"]),
        ("anything", 0, []),
    ],
)
def test_split_text(text, n, expected):
    assert split_text(text, n) == expected


@pytest.mark.parametrize("n", [1, 5, 19, 20, 100])
def test_split_text_always_gives_n_non_empty_pieces(n):
    pieces = split_text("Hello from the fake", n)
    assert len(pieces) == n
    assert all(pieces)
    assert "".join(pieces).startswith("Hello from the fake")


@pytest.mark.parametrize("module", ["tests.fakes.openai_upstream", "tests.fakes.anthropic_upstream"])
async def test_runs_as_a_process(module):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, "--port", "0", cwd=REPO, stdout=asyncio.subprocess.PIPE
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        word, port = line.decode().split()
        assert word == "LISTENING"
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/_fake/health") as resp,
        ):
            assert await resp.json() == {"ok": True}
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
