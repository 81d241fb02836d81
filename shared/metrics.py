"""What every service's `/metrics` is made of, with one worker process or several.

With several uvicorn workers (`shared/serve.py`), each process records into its own files in
`PROMETHEUS_MULTIPROC_DIR` (prometheus_client's multiprocess mode), and whichever worker answers a
scrape reads all of them: counters and histograms are summed over the workers, so one scrape of the
service's port sees the whole service, as a Prometheus operator expects. Gauges say how they add up
(`multiprocess_mode`): `livesum` for counts of things in flight, `livemax` for flags.

Three kinds of metric:

* counters, histograms and gauges set where things happen (each service's `metrics.py`);
* sampled gauges (`sampled`): a value a function gives, such as a queue's size or the calls in flight,
  copied into the gauge every second and just before a scrape, so the hot path only counts in a plain
  int (and a worker's value reaches the other workers' scrapes too);
* scrape-time readings (`Reading`): values read from PostgreSQL or RabbitMQ when Prometheus asks,
  under a short timeout and cached for a few seconds, so a scrape storm costs one query.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from shared.logging import get_logger
from shared.outages import is_unavailable

log = get_logger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SAMPLE_INTERVAL_S = 1.0

_sampled: dict[Gauge, Callable[[], float]] = {}


def multiprocess_dir() -> str | None:
    """The directory the workers record into, or None with one process (the default registry)."""
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir(path: str) -> None:
    """Create `path` and drop what an earlier run left there (a new run starts counting at zero),
    then make every process started from here record into it."""
    os.makedirs(path, exist_ok=True)
    for leftover in glob.glob(os.path.join(path, "*.db")):
        os.remove(leftover)
    os.environ[MULTIPROC_ENV] = path


def sampled(gauge: Gauge, value: Callable[[], float]) -> None:
    """Keep `gauge` at `value()` (sampled; see the module's doc). The last function given wins."""
    _sampled[gauge] = value
    gauge.set(value())


def sample_now() -> None:
    for gauge, value in list(_sampled.items()):
        gauge.set(value())


@contextlib.asynccontextmanager
async def sampling(interval_s: float = SAMPLE_INTERVAL_S) -> AsyncIterator[None]:
    """For a lifespan: sample the gauges every `interval_s` while the service runs; at the end, this
    process's live gauges leave the multiprocess files (it no longer has anything in flight)."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval_s)
            sample_now()

    task = asyncio.create_task(loop(), name="metrics-sampling")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        path = multiprocess_dir()
        if path is not None:
            mark_process_dead(os.getpid(), path)


class Reading:
    """Metrics read from a dependency when Prometheus scrapes: `read()` builds the metric families,
    at most once every `max_age_s`, within `timeout_s`. While the dependency does not answer, the
    families are left out (an absent series, never a stale value passed off as current)."""

    def __init__(
        self,
        name: str,
        read: Callable[[], Awaitable[list[Metric]]],
        *,
        max_age_s: float = 5.0,
        timeout_s: float = 1.0,
    ) -> None:
        self.name = name
        self._read = read
        self._max_age_s = max_age_s
        self._timeout_s = timeout_s
        self._metrics: list[Metric] = []
        self._read_at = -float("inf")

    async def refresh(self) -> None:
        now = time.monotonic()
        if now - self._read_at < self._max_age_s:
            return
        self._read_at = now
        try:
            self._metrics = await asyncio.wait_for(self._read(), self._timeout_s)
        except Exception as exc:
            self._metrics = []
            if not is_unavailable(exc):
                log.warning("metrics.reading_failed", reading=self.name, error=exc.__class__.__name__)

    def collect(self) -> Iterable[Metric]:
        return self._metrics


class _Default:
    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


async def exposition(readings: Sequence[Reading] = ()) -> bytes:
    """The text Prometheus scrapes: this process's metrics, or every worker's, and the readings."""
    await asyncio.gather(*(reading.refresh() for reading in readings))
    sample_now()
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path is None:
        registry.register(_Default())
    else:
        _forget_dead_workers(path)
        MultiProcessCollector(registry, path)
    for reading in readings:
        registry.register(reading)
    return generate_latest(registry)


def _forget_dead_workers(path: str) -> None:
    """A worker that died without its lifespan's end (killed, crashed) would leave its in-flight
    counts in the sums forever; its counters stay, as counters must."""
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        pid = int(name.rsplit("_", 1)[1].removesuffix(".db"))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, path)
        except PermissionError:  # alive, someone else's
            pass
