"""The client-facing uvicorn protocol as `serve` hands it to uvicorn."""

from __future__ import annotations

import pickle
import runpy

import pytest

from shared import serve as serve_module
from shared.http_protocol import HeaderTimeoutProtocol
from shared.serve import http_protocol


def test_the_protocol_survives_the_pickling_of_uvicorns_worker_processes() -> None:
    chosen = pickle.loads(pickle.dumps(http_protocol(2.5)))
    assert chosen.func is HeaderTimeoutProtocol
    assert chosen.keywords == {"header_timeout_s": 2.5}


@pytest.mark.parametrize("service", ["services.account_service", "services.proxy_service"])
def test_each_service_facing_clients_runs_with_the_header_deadline(service, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(serve_module, "serve", lambda app, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("POOLGATE_CLIENT_HEADER_TIMEOUT_S", "7")
    runpy.run_module(service, run_name="__main__")
    [kwargs] = calls
    assert kwargs["header_timeout_s"] == 7.0
