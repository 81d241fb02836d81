"""A rolling restart of the proxy under streaming load loses no stream.

Two proxies behind a load balancer that routes only to backends whose `/readyz` is 200
(tests/support/balancer.py), clients streaming continuously through it with the official OpenAI and
Anthropic SDKs (their default retries), a fake upstream streaming slowly. The first proxy (two
uvicorn workers: SIGTERM goes to the parent, which passes it to each) gets SIGTERM while it relays
short streams and two that outlast the drain timeout; a new proxy is started; then the second gets
SIGTERM. Every short stream completes intact, the two long ones end with the error their SDK raises,
none hangs or is cut silently, and the drained proxy's leases are free the moment it has exited.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field

import anthropic
import httpx
import openai
import pytest

from tests.e2e.conftest import Stack
from tests.support.balancer import ReadyBalancer
from tests.support.processes import Process, free_port, spawn, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

GRACE_S, DRAIN_TIMEOUT_S = 1, 4
TEXT = "one two three four five six seven eight nine ten eleven twelve"
SHORT = {"stream_chunks": 10, "chunk_delay_ms": 100, "text": TEXT}  # about 1 s: within the drain
LONG = {"stream_chunks": 300, "chunk_delay_ms": 100, "text": TEXT}  # 30 s: longer than grace + drain
SHUTTING_DOWN = "this PoolGate proxy is shutting down"
CLIENTS = 4


@dataclass
class Tally:
    started: int = 0
    completed: int = 0
    drained: list[str] = field(default_factory=list)  # ended by the drain deadline's error
    lost: list[str] = field(default_factory=list)  # anything else: must stay empty

    def end(self, text: str, error: Exception | None, *, expected: str) -> None:
        if error is None and text == expected:
            self.completed += 1
        elif error is not None and SHUTTING_DOWN in str(error):
            self.drained.append(type(error).__name__)
        else:
            self.lost.append(f"{type(error).__name__ if error else 'truncated'}: {error or text!r}")


async def openai_stream(
    client: openai.AsyncOpenAI, tally: Tally, expected: str, first: asyncio.Event
) -> None:
    tally.started += 1
    text, error = "", None
    try:
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}], stream=True
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
                first.set()
    except openai.OpenAIError as exc:
        error = exc
    tally.end(text, error, expected=expected)


async def anthropic_stream(
    client: anthropic.AsyncAnthropic, tally: Tally, expected: str, first: asyncio.Event
) -> None:
    tally.started += 1
    text, error = "", None
    try:
        async with client.messages.stream(
            model="claude-sonnet-4", max_tokens=64, messages=[{"role": "user", "content": "Hello"}]
        ) as stream:
            async for piece in stream.text_stream:
                text += piece
                first.set()
    except anthropic.AnthropicError as exc:
        error = exc
    tally.end(text, error, expected=expected)


async def until(predicate, what: str = "") -> None:
    """Wait for a condition (no deadline here: the test's timeout ends a hang, and says `what`)."""
    print(f"waiting: {what}", flush=True)
    while not predicate():
        await asyncio.sleep(0.05)


async def start_proxy(stack: Stack, *, workers: int = 1) -> tuple[Process, int]:
    port = free_port()
    env = {
        **stack.env,
        "POOLGATE_PROXY_PORT": str(port),
        "POOLGATE_PROXY_WORKERS": str(workers),
        "POOLGATE_PROXY_SHUTDOWN_GRACE_S": str(GRACE_S),
        "POOLGATE_PROXY_DRAIN_TIMEOUT_S": str(DRAIN_TIMEOUT_S),
    }
    log_dir = stack.process("proxy_service").log_path.parent
    proc = spawn(f"proxy_rolling-{port}", ["-m", "services.proxy_service"], env=env, log_dir=log_dir)
    await asyncio.to_thread(wait_ready, proc, f"http://127.0.0.1:{port}/readyz")
    return proc, port


async def terminate(proc: Process) -> int:
    """SIGTERM, as Kubernetes sends it, and wait for the process to exit on its own."""
    proc.popen.send_signal(signal.SIGTERM)
    return await asyncio.to_thread(proc.popen.wait)


def script(stack: Stack, which: str, upstream_key: str, fields: dict) -> None:
    with stack.fake(which) as fake:
        fake.post(f"/_fake/keys/{upstream_key}", json=fields).raise_for_status()


async def test_a_rolling_restart_under_streaming_load_loses_no_stream(stack: Stack) -> None:
    keys: dict[str, str] = {}
    for name, fmt, fields in (
        ("short_openai", "openai", SHORT),
        ("short_claude", "claude", SHORT),
        ("long_openai", "openai", LONG),
        ("long_claude", "claude", LONG),
    ):
        # One slot for the long ones: a lease the drained proxy kept would refuse the next call.
        extra = {"max_concurrency": 1} if name.startswith("long") else {}
        keys[name], upstream_key, _ = stack.user_with_account(fmt=fmt, **extra)
        script(stack, fmt, upstream_key, fields)

    balancer = ReadyBalancer()
    await balancer.start()
    processes: list[Process] = []
    short, long = Tally(), Tally()
    stop = asyncio.Event()
    base = f"http://127.0.0.1:{balancer.port}"

    def sdk(kind: str, key: str):
        if kind == "openai":
            return openai.AsyncOpenAI(base_url=f"{base}/v1", api_key=key, timeout=120)
        return anthropic.AsyncAnthropic(base_url=base, api_key=key, timeout=120)

    async def keep_streaming(n: int) -> None:
        kind = "openai" if n % 2 == 0 else "claude"
        async with sdk(kind, keys[f"short_{kind}"]) as client:
            while not stop.is_set():
                run = openai_stream if kind == "openai" else anthropic_stream
                await run(client, short, TEXT, asyncio.Event())

    try:
        first, first_port = await start_proxy(stack, workers=2)
        processes.append(first)
        balancer.add(first_port)
        await until(lambda: balancer.backend(first_port).ready, "first proxy ready")
        # The two long streams go to the first proxy: the only one behind the balancer yet.
        long_openai, long_claude = sdk("openai", keys["long_openai"]), sdk("claude", keys["long_claude"])
        began = [asyncio.Event(), asyncio.Event()]
        long_streams = [
            asyncio.ensure_future(openai_stream(long_openai, long, TEXT, began[0])),
            asyncio.ensure_future(anthropic_stream(long_claude, long, TEXT, began[1])),
        ]
        await until(lambda: all(event.is_set() for event in began), "the long streams began")

        second, second_port = await start_proxy(stack)
        processes.append(second)
        balancer.add(second_port)
        await until(lambda: balancer.backend(second_port).ready, "second proxy ready")
        clients = [asyncio.ensure_future(keep_streaming(n)) for n in range(CLIENTS)]
        await until(lambda: balancer.connections[second_port] >= 2 and short.completed >= 8, "load on both")

        # First proxy: SIGTERM mid-stream.
        exit_code = await terminate(first)
        assert exit_code in (0, -signal.SIGTERM), first.logs()[-3000:]
        assert "draining" in balancer.backend(first_port).seen, "readiness failed before it stopped"
        await asyncio.gather(*long_streams)  # ended, not hanging
        # Its leases were released as its streams ended: each one-slot account serves at once.
        hello = {"model": "gpt-4o-mini", "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{second_port}", timeout=30) as http:
            for name, path in (("long_openai", "/v1/chat/completions"), ("long_claude", "/v1/messages")):
                answer = await http.post(path, headers={"authorization": f"Bearer {keys[name]}"}, json=hello)
                assert answer.status_code == 200, answer.text

        third, third_port = await start_proxy(stack)
        processes.append(third)
        balancer.add(third_port)
        before = short.completed
        # The clients keep their connections to the second proxy (keep-alive): the third gets new ones.
        await until(lambda: short.completed >= before + 8, "more streams with the third ready")

        # Second proxy: SIGTERM.
        exit_code = await terminate(second)
        assert exit_code in (0, -signal.SIGTERM), second.logs()[-3000:]
        assert "draining" in balancer.backend(second_port).seen
        before = short.completed
        await until(lambda: short.completed >= before + 8, "streams after the second stopped")
        assert balancer.connections[third_port] >= 1  # the clients' calls went to the live proxy
        stop.set()
        await asyncio.gather(*clients)
        await long_openai.close()
        await long_claude.close()
    finally:
        stop.set()
        await balancer.close()
        for proc in processes:
            proc.stop()

    drained, lost = len(short.drained) + len(long.drained), len(short.lost) + len(long.lost)
    report = (
        f"streams started={short.started + long.started} completed={short.completed + long.completed} "
        f"ended_by_drain_error={drained} lost={lost}; connections per proxy {dict(balancer.connections)}, "
        f"refused connects {balancer.refused_connects}"
    )
    print(report)
    assert short.lost == [] and long.lost == [], report
    assert short.drained == [], "every stream shorter than the drain timeout completed intact"
    assert short.completed == short.started
    # The two longer than the drain timeout ended with the error each SDK raises.
    assert sorted(long.drained) == ["APIError", "APIStatusError"], long.drained
    assert balancer.no_backend == 0
