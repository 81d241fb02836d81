"""`shared/metrics.py`: scrape-time readings are cached and left out when their source is away; with
several workers, one exposition sums every worker's files and forgets the live gauges of dead ones."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families

from shared.metrics import MULTIPROC_ENV, Reading, exposition, prepare_multiprocess_dir


def samples(text: bytes) -> dict[str, float]:
    return {
        s.name: s.value for family in text_string_to_metric_families(text.decode()) for s in family.samples
    }


def gauge(name: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, "test")
    family.add_metric([], value)
    return family


async def test_a_reading_is_read_once_within_its_age_and_left_out_while_its_source_is_away() -> None:
    calls: list[str] = []
    fail = False

    async def read():
        calls.append("read")
        if fail:
            raise ConnectionRefusedError("away")
        return [gauge("poolgate_test_reading", len(calls))]

    reading = Reading("test", read, max_age_s=60)
    assert samples(await exposition([reading]))["poolgate_test_reading"] == 1
    assert samples(await exposition([reading]))["poolgate_test_reading"] == 1  # cached
    assert calls == ["read"]

    fail = True
    away = Reading("test", read, max_age_s=0)
    assert "poolgate_test_reading" not in samples(await exposition([away]))


def _write(path: Path, kind: str, pid: int, name: str, value: float) -> None:
    values = MmapedDict(str(path / f"{kind}_{pid}.db"))
    values.write_value(mmap_key(name, name, [], [], "test"), value, 0.0)
    values.close()


def _dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


async def test_one_exposition_sums_every_workers_counters_and_drops_dead_workers_live_gauges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    (tmp_path / "counter_1.db").write_bytes(b"left by an earlier run")
    prepare_multiprocess_dir(str(tmp_path))
    try:
        assert os.environ[MULTIPROC_ENV] == str(tmp_path)
        assert not (tmp_path / "counter_1.db").exists()
        alive, dead = os.getpid(), _dead_pid()
        for pid, calls in ((alive, 2), (os.getppid(), 3), (dead, 4)):
            _write(tmp_path, "counter", pid, "poolgate_test_calls_total", calls)
        _write(tmp_path, "gauge_livesum", alive, "poolgate_test_in_flight", 1)
        _write(tmp_path, "gauge_livesum", dead, "poolgate_test_in_flight", 7)

        found = samples(await exposition())

        assert found["poolgate_test_calls_total"] == 9  # a dead worker's calls still count
        assert found["poolgate_test_in_flight"] == 1  # its calls in flight do not
        assert not (tmp_path / f"gauge_livesum_{dead}.db").exists()
    finally:
        monkeypatch.delenv(MULTIPROC_ENV)
