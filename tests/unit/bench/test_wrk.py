"""bench.wrk: reading wrk 4.1's text report. The samples are real wrk output (Debian wrk 4.1.0)."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import wrk

LATENCY_US = """\
Running 2s test @ http://127.0.0.1:35931/v1/chat/completions
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.88ms    1.38ms   9.09ms   86.47%
    Req/Sec     2.96k     1.83k    6.64k    70.00%
  Latency Distribution
     50%  198.00us
     75%    0.99ms
     90%    2.84ms
     99%    6.44ms
  5918 requests in 2.01s, 3.71MB read
Requests/sec:   2942.86
Transfer/sec:      1.84MB
"""

NON_2XX = """\
Running 2s test @ http://127.0.0.1:35931/v1/chat/completions
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.14ms    2.74ms  25.09ms   85.58%
    Req/Sec     4.18k     1.48k    7.17k    62.50%
  Latency Distribution
     50%    3.39ms
     75%    4.57ms
     90%    7.55ms
     99%   15.50ms
  16717 requests in 2.01s, 5.26MB read
  Non-2xx or 3xx responses: 16717
Requests/sec:   8319.39
Transfer/sec:      2.62MB
"""

# Latencies in seconds; wrk pads the unit with a trailing space.
LATENCY_S = """\
Running 4s test @ http://127.0.0.1:35931/v1/chat/completions
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.33s     0.87ms   1.33s    66.67%
    Req/Sec     1.00      0.00     1.00    100.00%
  Latency Distribution
     50%    1.33s 
     75%    1.33s 
     90%    1.33s 
     99%    1.33s 
  6 requests in 4.01s, 36.41KB read
Requests/sec:      1.50
Transfer/sec:      9.08KB
"""

# With bench/post.lua's done() hook: the exact percentiles follow wrk's own report.
LATENCY_S_EXACT = """\
Running 3s test @ http://127.0.0.1:40061/v1/chat/completions
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.35s    22.44ms   1.37s   100.00%
    Req/Sec     1.00      0.00     1.00    100.00%
  Latency Distribution
     50%    1.37s 
     75%    1.37s 
     90%    1.37s 
     99%    1.37s 
  4 requests in 3.02s, 27.17KB read
Requests/sec:      1.32
Transfer/sec:      8.99KB
bench-latency-us p50=1371320 p75=1371459 p90=1371459 p99=1371459 p99.9=1371459 max=1371459
"""

TIMEOUTS = """\
Running 3s test @ http://127.0.0.1:35931/v1/chat/completions
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.00us    0.00us   0.00us    -nan%
    Req/Sec     2.60      4.16    10.00     80.00%
  Latency Distribution
     50%    0.00us
     75%    0.00us
     90%    0.00us
     99%    0.00us
  8 requests in 3.02s, 5.13KB read
  Socket errors: connect 0, read 0, write 0, timeout 8
Requests/sec:      2.65
Transfer/sec:      1.70KB
"""


def test_clean_run() -> None:
    result = wrk.parse(LATENCY_US)
    assert result.requests == 5918
    assert result.duration_s == pytest.approx(2.01)
    assert result.rps == pytest.approx(2942.86)
    assert result.latency_ms == pytest.approx({"50": 0.198, "75": 0.99, "90": 2.84, "99": 6.44})
    assert result.non_2xx == 0
    assert result.socket_errors == {}
    assert result.errors == 0
    assert result.ok_rps == pytest.approx(5918 / 2.01)


def test_non_2xx_responses_are_errors_and_not_throughput() -> None:
    result = wrk.parse(NON_2XX)
    assert result.non_2xx == 16717
    assert result.errors == 16717
    assert result.rps == pytest.approx(8319.39)  # what wrk says...
    assert result.ok_rps == 0  # ...and what was really delivered
    assert result.latency_ms["99"] == pytest.approx(15.5)


def test_latencies_in_seconds() -> None:
    result = wrk.parse(LATENCY_S)
    assert result.latency_ms == pytest.approx({"50": 1330.0, "75": 1330.0, "90": 1330.0, "99": 1330.0})
    assert result.rps == pytest.approx(1.5)


def test_exact_percentiles_from_the_lua_hook_win() -> None:
    result = wrk.parse(LATENCY_S_EXACT)
    assert result.latency_ms["50"] == pytest.approx(1371.32)  # wrk's own line says 1.37s
    assert result.latency_ms["99.9"] == result.latency_ms["max"] == pytest.approx(1371.459)
    assert result.requests == 4


def test_socket_errors() -> None:
    result = wrk.parse(TIMEOUTS)
    assert result.socket_errors == {"connect": 0, "read": 0, "write": 0, "timeout": 8}
    assert result.errors == 8
    assert result.to_json()["errors"] == 8


@pytest.mark.parametrize(
    ("value", "unit", "ms"),
    [("250.00", "us", 0.25), ("1.50", "ms", 1.5), ("2.00", "s", 2000.0), ("1.00", "m", 60000.0)],
)
def test_units(value: str, unit: str, ms: float) -> None:
    assert wrk.to_ms(value, unit) == pytest.approx(ms)


def test_unrecognised_output_raises() -> None:
    with pytest.raises(wrk.WrkError):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused\n")


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_run_posts_the_body_and_headers() -> None:
    """A real one-second wrk run against a tiny local server: method, body and headers arrive."""
    seen: list[tuple[str, str | None, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if not seen:
                seen.append((self.path, self.headers.get("Authorization"), body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": 'say "hi"\n'}]}).encode()
        result = wrk.run(
            f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions",
            body=body,
            headers={"Authorization": "Bearer k", "Content-Type": "application/json"},
            connections=1,
            threads=1,
            duration_s=1,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [("/v1/chat/completions", "Bearer k", body)]
    assert result.requests > 0
    assert result.errors == 0
    assert set(result.latency_ms) == {"50", "75", "90", "99", "99.9", "max"}
    assert result.cpu_s > 0
