"""The loads the bench runs, and one measurement: a wrk run with CPU and RSS read around it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from bench import kiro, procstat, wrk
from bench.stack import JIMENG_REGION, JIMENG_SESSIONID, Stack

OPENAI_BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}
ANTHROPIC_BODY = {
    "model": "claude-3-5-haiku-latest",
    "max_tokens": 256,
    "messages": [{"role": "user", "content": "Say hello"}],
}
ANTHROPIC_VERSION = "2023-06-01"
PATHS = ("direct", "proxy")
RELAY = "relay"  # bench/bare_relay.py: what any relay costs here, for the loads with `relay` set
WATCHED = ("proxy_service", "account_service", "bare_relay")


@dataclass(frozen=True)
class Load:
    name: str
    title: str
    group: str  # what --only selects: nonstream, stream, anthropic, convert, kiro, images
    api: str  # openai | anthropic | images
    stream: bool
    fake: dict[str, int]  # the fake's config for this load
    clients: tuple[int, ...]
    timeout_s: int = 10
    # Whose key the proxy run uses: the bench user with one account of each format ("both", served
    # without conversion), or a user whose only account is of this format (forcing conversion), or a
    # user whose only account is a Kiro account ("kiro") or a Dreamina account ("jimeng").
    pool: str = "both"
    relay: bool = False  # also run through the bare relay (an OpenAI load on the "both" pool)

    @property
    def upstream_api(self) -> str:
        """The API of the account that answers, which the direct run calls: openai, anthropic, kiro or
        jimeng."""
        if self.pool == "both":
            return self.api
        return {"openai": "openai", "claude": "anthropic"}.get(self.pool, self.pool)


LOADS = (
    Load(
        "nonstream_instant",
        "Non-streaming, OpenAI format, instant upstream (delay 0)",
        "nonstream",
        "openai",
        False,
        {"delay_ms": 0, "stream_chunks": 5, "chunk_delay_ms": 0},
        (1, 32),
        relay=True,
    ),
    Load(
        "nonstream_20ms",
        "Non-streaming, OpenAI format, 20 ms upstream",
        "nonstream",
        "openai",
        False,
        {"delay_ms": 20, "stream_chunks": 5, "chunk_delay_ms": 0},
        (32,),
        relay=True,
    ),
    Load(
        "anthropic_instant",
        "Non-streaming, Anthropic format (pass-through), instant upstream",
        "anthropic",
        "anthropic",
        False,
        {"delay_ms": 0, "stream_chunks": 5, "chunk_delay_ms": 0},
        (32,),
    ),
    Load(
        "stream_burst",
        "Stream, OpenAI format, 200 text events sent at once",
        "stream",
        "openai",
        True,
        {"delay_ms": 0, "stream_chunks": 200, "chunk_delay_ms": 0},
        (1, 32),
    ),
    Load(
        "stream_paced",
        "Stream, OpenAI format, 200 text events paced 5 ms apart",
        "stream",
        "openai",
        True,
        {"delay_ms": 0, "stream_chunks": 200, "chunk_delay_ms": 5},
        (32,),
        timeout_s=30,
    ),
    Load(
        "convert_openai_client",
        "Converting: OpenAI client, Claude-format account, instant upstream",
        "convert",
        "openai",
        False,
        {"delay_ms": 0, "stream_chunks": 5, "chunk_delay_ms": 0},
        (1, 32),
        pool="claude",
    ),
    Load(
        "convert_anthropic_client",
        "Converting: Anthropic client, OpenAI-format account, instant upstream",
        "convert",
        "anthropic",
        False,
        {"delay_ms": 0, "stream_chunks": 5, "chunk_delay_ms": 0},
        (1, 32),
        pool="openai",
    ),
    Load(
        "convert_openai_client_stream",
        "Converting stream: OpenAI client, Claude-format account, 200 events paced 5 ms apart",
        "convert",
        "openai",
        True,
        {"delay_ms": 0, "stream_chunks": 200, "chunk_delay_ms": 5},
        (32,),
        timeout_s=30,
        pool="claude",
    ),
    Load(
        "convert_anthropic_client_stream",
        "Converting stream: Anthropic client, OpenAI-format account, 200 events paced 5 ms apart",
        "convert",
        "anthropic",
        True,
        {"delay_ms": 0, "stream_chunks": 200, "chunk_delay_ms": 5},
        (32,),
        timeout_s=30,
        pool="openai",
    ),
    Load(
        "kiro_instant",
        "Kiro: Anthropic client, non-streaming, instant fake Kiro (5 text frames)",
        "kiro",
        "anthropic",
        False,
        {"delay_ms": 0, "stream_chunks": 5, "chunk_delay_ms": 0},
        (1, 32),
        pool="kiro",
    ),
    Load(
        "kiro_stream_burst",
        "Kiro stream: Anthropic client, 200 text frames written back to back",
        "kiro",
        "anthropic",
        True,
        {"delay_ms": 0, "stream_chunks": 200, "chunk_delay_ms": 0},
        (32,),
        pool="kiro",
    ),
    Load(
        "kiro_stream_paced",
        "Kiro stream: Anthropic client, 200 text frames paced 5 ms apart",
        "kiro",
        "anthropic",
        True,
        {"delay_ms": 0, "stream_chunks": 200, "chunk_delay_ms": 5},
        (32,),
        timeout_s=30,
        pool="kiro",
    ),
    Load(
        "images_instant",
        "Images: OpenAI images.generate on a Dreamina account, instant fake jimeng-api (4 image URLs)",
        "images",
        "images",
        False,
        {"delay_ms": 0},
        (1, 32),
        pool="jimeng",
    ),
)
# The image call: OpenAI's fields through the proxy, and the jimeng-api body they map to for the direct
# run (reference/dreamina.md §1.7: quality low → jimeng-4.0, 1024x1024 → ratio 1:1).
IMAGES_BODY = {
    "model": "gpt-image-1",
    "prompt": "a lighthouse at dusk",
    "quality": "low",
    "size": "1024x1024",
}
JIMENG_BODY = {"prompt": "a lighthouse at dusk", "model": "jimeng-4.0", "ratio": "1:1"}


@dataclass
class Run:
    load: str
    path: str
    clients: int
    wrk: wrk.WrkResult
    cpu_s: dict[str, float]  # per process, plus wrk, machine (all cores) and other (the rest)
    wall_s: float
    proxy_rss_after: int
    leases_held: int  # allocation leases not yet released when wrk stopped

    def to_json(self) -> dict[str, Any]:
        return {
            "load": self.load,
            "path": self.path,
            "clients": self.clients,
            "wrk": self.wrk.to_json(),
            "cpu_s": self.cpu_s,
            "wall_s": self.wall_s,
            "proxy_rss_after": self.proxy_rss_after,
            "leases_held": self.leases_held,
        }


@dataclass
class Target:
    url: str
    headers: dict[str, str]
    body: bytes = field(repr=False)


def target(stack: Stack, load: Load, path: str) -> Target:
    """The proxy run speaks the client's API; the direct run calls the answering account's own API."""
    if load.pool == "kiro":
        return _kiro_target(stack, load, path)
    if load.pool == "jimeng":
        return _jimeng_target(stack, path)
    if path == RELAY:
        direct = target(stack, load, "direct")
        return Target(direct.url.replace(stack.openai_url, stack.relay_url, 1), direct.headers, direct.body)
    api = load.api if path == "proxy" else load.upstream_api
    body = {
        **(OPENAI_BODY if api == "openai" else ANTHROPIC_BODY),
        **({"stream": True} if load.stream else {}),
    }
    if api == "openai" and load.stream and load.pool != "both":
        body["stream_options"] = {"include_usage": True}  # what the converter asks the upstream for
    headers = {"Content-Type": "application/json"}
    if api == "openai":
        base = stack.proxy_url if path == "proxy" else stack.openai_url
        key = stack.keys[load.pool] if path == "proxy" else "sk-bench-direct"
        return Target(
            f"{base}/v1/chat/completions", {**headers, "Authorization": f"Bearer {key}"}, orjson.dumps(body)
        )
    base = stack.proxy_url if path == "proxy" else stack.anthropic_url
    key = stack.keys[load.pool] if path == "proxy" else "sk-ant-bench-direct"
    headers |= {"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION}
    return Target(f"{base}/v1/messages", headers, orjson.dumps(body))


def _kiro_target(stack: Stack, load: Load, path: str) -> Target:
    """Direct: the fake Kiro's chat host with a minted access token and the `generateAssistantResponse`
    body the proxy would build (Kiro always answers an event stream). Proxy: POST /v1/messages."""
    body = {**ANTHROPIC_BODY, "model": kiro.MODEL, **({"stream": True} if load.stream else {})}
    if path == "direct":
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {stack.kiro_token}"}
        return Target(stack.kiro_chat_url, headers, kiro.direct_body(body))
    headers = {
        "Content-Type": "application/json",
        "x-api-key": stack.keys[load.pool],
        "anthropic-version": ANTHROPIC_VERSION,
    }
    return Target(f"{stack.proxy_url}/v1/messages", headers, orjson.dumps(body))


def _jimeng_target(stack: Stack, path: str) -> Target:
    """Direct: the fake jimeng-api with the account's prefixed sessionid and the body the proxy sends.
    Proxy: POST /v1/images/generations with OpenAI's fields and the pool's PoolGate key."""
    if path == "direct":
        token = f"{JIMENG_REGION}-{JIMENG_SESSIONID}"
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        return Target(f"{stack.jimeng_url}/v1/images/generations", headers, orjson.dumps(JIMENG_BODY))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {stack.keys['jimeng']}"}
    return Target(f"{stack.proxy_url}/v1/images/generations", headers, orjson.dumps(IMAGES_BODY))


def configure(stack: Stack, load: Load) -> None:
    if load.upstream_api == "kiro":
        stack.configure_kiro(**load.fake)
    elif load.upstream_api == "jimeng":
        stack.configure_jimeng(**load.fake)
    else:
        stack.configure_fakes(**load.fake)


def probe(t: Target, *, wait_s: float = 20.0) -> bytes:
    """One call before measuring: fail early and clearly rather than benchmark an error page.
    Retried for a while because a new account reaches account_service's index through the queue."""
    deadline = time.monotonic() + wait_s
    while True:
        response = httpx.post(t.url, content=t.body, headers=t.headers, timeout=30)
        if response.status_code == 200:
            return response.content
        if time.monotonic() > deadline:
            raise RuntimeError(f"probe POST {t.url} answered {response.status_code}: {response.text[:500]}")
        time.sleep(0.5)


def sse_events(body: bytes) -> int:
    return sum(1 for part in body.split(b"\n\n") if part.strip())


def measure(stack: Stack, load: Load, path: str, clients: int, *, duration_s: int, warmup_s: int) -> Run:
    t = target(stack, load, path)
    load_args = {
        "body": t.body,
        "headers": t.headers,
        "connections": clients,
        "threads": min(2, clients),
        "timeout_s": load.timeout_s,
    }
    if warmup_s and path != "direct":  # fills the proxy's or relay's pools; the fake has nothing to warm
        wrk.run(t.url, duration_s=warmup_s, **load_args)
    fake = f"fake_{load.upstream_api}"
    pids = stack.pids(*WATCHED, fake)
    before, started = procstat.snapshot(pids), time.monotonic()
    result = wrk.run(t.url, duration_s=duration_s, **load_args)
    after, wall = procstat.snapshot(pids), time.monotonic() - started
    leases = stack.leases_held()
    stack.check_alive()
    cpu = procstat.cpu_used(before, after)
    cpu["fake"] = cpu.pop(fake)
    cpu["wrk"] = result.cpu_s
    named = sum(v for k, v in cpu.items() if k not in ("machine", "steal"))
    cpu["other"] = max(0.0, cpu["machine"] - named)
    rss = procstat.tree_rss_bytes(stack.pids("proxy_service")["proxy_service"])
    return Run(load.name, path, clients, result, cpu, wall, rss, leases)
