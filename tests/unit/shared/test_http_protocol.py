"""The client-facing uvicorn protocol as `serve` hands it to uvicorn."""

from __future__ import annotations

import pickle

from shared.http_protocol import HeaderTimeoutProtocol
from shared.serve import http_protocol


def test_the_protocol_survives_the_pickling_of_uvicorns_worker_processes() -> None:
    chosen = pickle.loads(pickle.dumps(http_protocol(2.5)))
    assert chosen.func is HeaderTimeoutProtocol
    assert chosen.keywords == {"header_timeout_s": 2.5}
