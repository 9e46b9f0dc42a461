"""Operations endpoints: ``/health`` (JSON) and ``/metrics`` (Prometheus text) for every service.

The hot path never calls prometheus_client: it bumps plain counters and ``LatencyHistogram``s
(a bisect and two additions), and a custom collector turns them into Prometheus metric families
only when ``/metrics`` is scraped. Each service builds its own ``CollectorRegistry``, so several
services (or tests) in one process never share metrics.

For other services (the dashboard, the trader)::

    registry = CollectorRegistry()
    registry.register(ServiceCollector(lambda: samples, lambda: {"stage": hist}))
    app = Starlette(routes=[*my_routes, *ops_routes(lambda: {"status": "ok", ...}, registry)])
    # or, for a service without a web app of its own:
    server = OpsServer(make_ops_app(health, registry), "127.0.0.1", 9103); await server.start()
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

# Latency buckets from 1 µs to 5 s (upper bounds, seconds): the stages span microseconds
# (in-process) to milliseconds (network hops, Redis round trips).
LATENCY_BUCKETS_S: tuple[float, ...] = (
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
    1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)

# The stages a market event and its signal go through in the distributed deployment.
STAGE_INGEST_PUBLISH = "receive_to_ingest_publish"  # venue frame received → sent on ZeroMQ (ingest)
STAGE_ENGINE_RECEIVE = "ingest_publish_to_engine_receive"  # sent → taken off the SUB socket (engine)
STAGE_SIGNAL = "engine_receive_to_signal"  # taken off the socket → signal emitted (engine)
STAGE_REDIS = "signal_to_redis_publish"  # emitted → Redis confirmed the write (engine)
STAGE_TOTAL = "receive_to_redis_publish"  # venue frame received → Redis confirmed (end to end)


class LatencyHistogram:
    """Fixed-bucket histogram of nanosecond durations; ``observe`` is cheap enough for the hot path."""

    __slots__ = ("bounds_ns", "counts", "sum_ns", "count", "keep")

    def __init__(self, buckets_s: Iterable[float] = LATENCY_BUCKETS_S) -> None:
        self.bounds_ns = [int(round(b * 1e9)) for b in buckets_s]
        self.counts = [0] * (len(self.bounds_ns) + 1)  # the last one is +Inf
        self.sum_ns = 0
        self.count = 0
        self.keep: list[int] | None = None  # set to a list to also keep every raw value (benchmarks)

    def observe(self, ns: int) -> None:
        if ns < 0:
            ns = 0  # clocks of two machines may disagree by a little; never a negative bucket
        self.counts[bisect_left(self.bounds_ns, ns)] += 1
        self.sum_ns += ns
        self.count += 1
        if self.keep is not None:
            self.keep.append(ns)

    def cumulative(self) -> list[tuple[str, float]]:
        """Prometheus buckets: (upper bound as text, observations ≤ it), ending with +Inf."""
        out: list[tuple[str, float]] = []
        acc = 0
        for bound, c in zip(self.bounds_ns, self.counts, strict=False):
            acc += c
            out.append((_fmt_bound(bound / 1e9), acc))
        out.append(("+Inf", acc + self.counts[-1]))
        return out

    def quantile(self, q: float) -> float | None:
        """Upper bound (seconds) of the bucket holding quantile ``q``; None when empty."""
        if not self.count:
            return None
        rank = q * self.count
        acc = 0
        for bound, c in zip(self.bounds_ns, self.counts, strict=False):
            acc += c
            if acc >= rank:
                return bound / 1e9
        return float("inf")

    def as_dict(self) -> dict[str, Any]:
        """Summary for ``/health``: count, mean and bucket-resolution p50/p99 in µs."""
        p50, p99 = self.quantile(0.5), self.quantile(0.99)
        return {
            "count": self.count,
            "mean_us": round(self.sum_ns / self.count / 1e3, 1) if self.count else None,
            "p50_le_us": None if p50 is None else p50 * 1e6,
            "p99_le_us": None if p99 is None else p99 * 1e6,
        }


def _fmt_bound(seconds: float) -> str:
    return repr(float(seconds))


@dataclass(frozen=True, slots=True)
class Sample:
    """One counter or gauge value for ``/metrics``; ``name`` without ``_total`` for counters."""

    name: str
    doc: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)
    kind: str = "counter"  # or "gauge"


class ServiceCollector(Collector):
    """Turns a service's counters and latency histograms into Prometheus families at scrape time."""

    def __init__(self, samples: Callable[[], Iterable[Sample]],
                 histograms: Callable[[], Mapping[str, LatencyHistogram]] | None = None,
                 histogram_name: str = "arbsniper_stage_latency_seconds") -> None:
        self.samples = samples
        self.histograms = histograms
        self.histogram_name = histogram_name

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}
        for s in self.samples():
            fam = families.get(s.name)
            if fam is None:
                labels = sorted(s.labels)
                cls = CounterMetricFamily if s.kind == "counter" else GaugeMetricFamily
                fam = families[s.name] = cls(s.name, s.doc, labels=labels)
            fam.add_metric([s.labels[k] for k in sorted(s.labels)], s.value)
        yield from families.values()
        if self.histograms is not None:
            hists = self.histograms()
            if hists:
                fam_h = HistogramMetricFamily(self.histogram_name, "Latency per pipeline stage", labels=["stage"])
                for stage, h in hists.items():
                    fam_h.add_metric([stage], h.cumulative(), h.sum_ns / 1e9)
                yield fam_h


def make_registry(*collectors: Collector) -> CollectorRegistry:
    """A registry of its own (never the global one), holding the given collectors."""
    registry = CollectorRegistry(auto_describe=True)
    for c in collectors:
        registry.register(c)
    return registry


_json = msgspec.json.Encoder()


def ops_routes(health: Callable[[], Mapping[str, Any]], registry: CollectorRegistry) -> list[Any]:
    """Starlette routes ``GET /health`` and ``GET /metrics``, to mount in any service's app."""
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def health_endpoint(request: Request) -> Response:
        return Response(_json.encode(health()), media_type="application/json")

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [Route("/health", health_endpoint), Route("/metrics", metrics_endpoint)]


def make_ops_app(health: Callable[[], Mapping[str, Any]], registry: CollectorRegistry) -> Any:
    """A Starlette app serving only ``/health`` and ``/metrics``."""
    from starlette.applications import Starlette

    return Starlette(routes=ops_routes(health, registry))


def parse_hostport(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT``, host 127.0.0.1) to a tuple; a clear error otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return (host.strip("[]") or "127.0.0.1"), int(port)


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket bound now (``port`` 0 = any free one), so a busy port fails at start."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def in_loop_server(app: Any, **config: Any) -> Any:
    """A ``uvicorn.Server`` for ``app`` that runs inside the caller's event loop and leaves
    SIGINT/SIGTERM to the process's own shutdown (serve it with ``serve(sockets=[sock])``)."""
    import uvicorn

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return _Server(uvicorn.Config(app, access_log=False, lifespan="off", **config))


class OpsServer:
    """uvicorn serving an ASGI app inside the caller's event loop (no threads, no signal capture).

    ``port=0`` picks a free port; ``port`` holds the bound one after ``start``.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None

    async def start(self) -> None:
        sock = listen_socket(self.host, self.port)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._server = in_loop_server(self.app, log_level="warning")
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name=f"ops:{self.port}")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("ops server stopped during start-up")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            try:
                async with asyncio.timeout(3.0):
                    await self._task
            except TimeoutError:
                self._task.cancel()
            except Exception:  # noqa: BLE001 - already stopping; what it died of was logged by uvicorn
                pass
        if self._sock is not None:
            self._sock.close()
