"""Clients that misbehave, against a real proxy process: bodies too big, bytes that are not JSON,
connections that stall or vanish, browsers from other origins. The proxy answers each in the
client's own format or closes the connection, logs no traceback, and goes on serving."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import openai
import orjson
import pytest

from tests.e2e.conftest import Stack
from tests.support.processes import Process

pytestmark = pytest.mark.e2e

LIMIT = 8192
ORIGIN = "https://app.example"
PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}
INVALID_UTF8 = b'{"model":"x","max_tokens":5,"messages":[{"role":"user","content":"\xff"}]}'
WAIT_S = 10.0  # far above the 1 s timeouts: only a proxy that never closes reaches it


@dataclass
class Replica:
    url: str
    port: int
    process: Process
    key: str


@pytest.fixture(scope="module")
def replica(stack: Stack) -> Iterator[Replica]:
    """A proxy with a small body limit, 1 s client timeouts and one CORS origin, and a key it serves."""
    key, _, _ = stack.user_with_account(fmt="openai")
    with stack.proxy_replica(
        POOLGATE_MAX_BODY_BYTES=str(LIMIT),
        POOLGATE_CLIENT_HEADER_TIMEOUT_S="1",
        POOLGATE_CLIENT_BODY_TIMEOUT_S="1",
        POOLGATE_CORS_ORIGINS=f"{ORIGIN}, https://other.example",
    ) as (url, process):
        yield Replica(url, int(url.rsplit(":", 1)[1]), process, key)


def head(replica: Replica, path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", f"authorization: Bearer {replica.key}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def until_closed(sock: socket.socket) -> bytes:
    """Everything the proxy sends until it closes the connection; fails if it never does."""
    sock.settimeout(WAIT_S)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        pytest.fail(f"the proxy kept the connection open; it sent {received[:200]!r}")
    except ConnectionResetError:
        pass
    return received


def parsed(raw: bytes) -> tuple[int, dict[str, str], dict]:
    header_block, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = header_block.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, orjson.loads(body[: int(headers["content-length"])])


def assert_client_format(fmt: str, body: dict, *, openai_type: str, anthropic_type: str) -> str:
    """Asserts the body is the client's own error shape; returns the message."""
    if fmt == "openai":
        assert set(body) == {"error"}
        assert set(body["error"]) == {"message", "type", "param", "code"}
        assert body["error"]["type"] == openai_type
        return body["error"]["message"]
    assert body["type"] == "error"
    assert set(body["error"]) == {"type", "message"}
    assert body["error"]["type"] == anthropic_type
    return body["error"]["message"]


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_a_declared_body_over_the_limit_is_413_in_the_clients_format(replica: Replica, fmt: str) -> None:
    r = httpx.post(
        replica.url + PATHS[fmt],
        content=b"x" * (LIMIT + 1),
        headers={"authorization": f"Bearer {replica.key}", "content-type": "application/json"},
    )
    assert r.status_code == 413
    message = assert_client_format(
        fmt, r.json(), openai_type="invalid_request_error", anthropic_type="request_too_large"
    )
    assert str(LIMIT) in message
    if fmt == "openai":
        assert r.json()["error"]["code"] == "request_too_large"


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_a_chunked_body_over_the_limit_is_413_and_the_connection_closes(replica: Replica, fmt: str) -> None:
    with socket.create_connection(("127.0.0.1", replica.port)) as sock:
        sock.sendall(
            head(replica, PATHS[fmt], "transfer-encoding: chunked", "content-type: application/json")
        )
        for _ in range(3):  # 3 × 3 KiB passes the 8 KiB limit; the body never ends
            sock.sendall(b"c00\r\n" + b" " * 3072 + b"\r\n")
        status, headers, body = parsed(until_closed(sock))
    assert status == 413
    assert headers["connection"] == "close"
    assert_client_format(fmt, body, openai_type="invalid_request_error", anthropic_type="request_too_large")


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_invalid_utf8_in_a_json_string_is_400_in_the_clients_format(replica: Replica, fmt: str) -> None:
    r = httpx.post(
        replica.url + PATHS[fmt],
        content=INVALID_UTF8,
        headers={"authorization": f"Bearer {replica.key}", "content-type": "application/json"},
    )
    assert r.status_code == 400
    message = assert_client_format(
        fmt, r.json(), openai_type="invalid_request_error", anthropic_type="invalid_request_error"
    )
    assert "UTF-8" in message


def test_a_connection_that_never_finishes_its_headers_is_closed(replica: Replica) -> None:
    closed = 0
    for sent in (b"", b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"):
        with socket.create_connection(("127.0.0.1", replica.port)) as sock:
            sock.sendall(sent)
            assert until_closed(sock) == b""  # closed without an answer
            closed += 1
    assert closed == 2


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_a_body_that_stalls_is_408_in_the_clients_format(replica: Replica, fmt: str) -> None:
    with socket.create_connection(("127.0.0.1", replica.port)) as sock:
        sock.sendall(head(replica, PATHS[fmt], "content-length: 100", "content-type: application/json"))
        sock.sendall(b'{"model": ')  # and then nothing
        status, headers, body = parsed(until_closed(sock))
    assert status == 408
    assert headers["connection"] == "close"
    assert_client_format(
        fmt, body, openai_type="invalid_request_error", anthropic_type="invalid_request_error"
    )


def test_a_client_gone_mid_body_is_one_info_line_and_no_traceback(replica: Replica) -> None:
    with socket.create_connection(("127.0.0.1", replica.port)) as sock:
        sock.sendall(head(replica, PATHS["openai"], "content-length: 1000", "content-type: application/json"))
        sock.sendall(b'{"model": "gpt-4o-mini", ')
        time.sleep(0.2)  # the proxy is reading the body now
    deadline = time.monotonic() + WAIT_S
    while "proxy.client_gone_mid_body" not in replica.process.logs():
        assert time.monotonic() < deadline, replica.process.logs()[-3000:]
        time.sleep(0.1)
    lines = [line for line in replica.process.logs().splitlines() if "client_gone_mid_body" in line]
    assert len(lines) == 1
    assert orjson.loads(lines[0])["level"] == "info"
    assert "Traceback" not in replica.process.logs()
    assert "unhandled" not in replica.process.logs()


def test_cors_preflight_is_answered_for_a_configured_origin_only(replica: Replica) -> None:
    asked = "authorization, x-api-key, content-type, anthropic-version, anthropic-beta"
    for path in PATHS.values():
        allowed = httpx.options(
            replica.url + path,
            headers={
                "origin": ORIGIN,
                "access-control-request-method": "POST",
                "access-control-request-headers": asked,
            },
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ORIGIN
        granted = {h.strip() for h in allowed.headers["access-control-allow-headers"].split(",")}
        assert granted >= {h.strip() for h in asked.split(",")}
        refused = httpx.options(
            replica.url + path,
            headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
        )
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers


def test_answers_carry_the_allowed_origin(replica: Replica) -> None:
    r = httpx.post(
        replica.url + PATHS["openai"],
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]},
        headers={"authorization": f"Bearer {replica.key}", "origin": ORIGIN},
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ORIGIN


def test_without_cors_origins_there_is_no_cors(stack: Stack) -> None:
    r = httpx.options(
        stack.proxy_url + PATHS["openai"],
        headers={"origin": ORIGIN, "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in r.headers


async def test_the_proxy_still_serves_normal_calls_afterwards(replica: Replica) -> None:
    client = openai.AsyncOpenAI(base_url=f"{replica.url}/v1", api_key=replica.key, max_retries=0)
    reply = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}]
    )
    assert reply.choices[0].message.content == "Hello from the fake"
    assert "Traceback" not in replica.process.logs()
