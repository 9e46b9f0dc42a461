"""What every role measures and how ``/metrics`` shows it: one histogram type, one collector, one
vocabulary of metric names (the README's table lists the same families, mode by mode).

The hot path never calls prometheus_client: it bumps plain counters and ``LatencyHistogram``s
(a bisect and two additions). Each part of a role (engine, queue, Redis publisher, hub, alerter,
trader) reports ``Sample``s of the families below from its own counters; a role's
``ServiceCollector`` turns them into Prometheus families only when ``/metrics`` is scraped. Each
role builds its own ``CollectorRegistry`` (``make_registry``), so several roles or tests in one
process never share metrics. Serving them is ``httpd.ops_routes``::

    registry = make_registry(ServiceCollector(role.samples, role.histograms))
    app = Starlette(routes=[*my_routes, *ops_routes(role.health, registry)])

A family appears in the exposition as soon as a part declares it (yields the ``Family`` itself),
even before it has a sample: what a mode serves does not depend on what happened yet.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from arbsniper import __version__

# Latency buckets from 1 µs to 5 s (upper bounds, seconds): the stages span microseconds
# (in-process) to hundreds of milliseconds (network hops, Redis round trips, browser pushes).
LATENCY_BUCKETS_S: tuple[float, ...] = (
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
    1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)

# The stages of ``arbsniper_stage_latency_seconds{stage}``: a market event and its signal.
STAGE_INGEST_PUBLISH = "receive_to_ingest_publish"  # venue frame received → sent on ZeroMQ (ingest)
STAGE_ENGINE_RECEIVE = "ingest_publish_to_engine_receive"  # sent → taken off the SUB socket (engine)
STAGE_SIGNAL = "engine_receive_to_signal"  # taken off the socket → signal emitted (engine)
STAGE_RECEIVE_SIGNAL = "receive_to_signal"  # venue frame received → signal emitted (the signal's latency_us)
STAGE_REDIS = "signal_to_redis_publish"  # emitted → Redis confirmed the write (engine, run --redis)
STAGE_TOTAL = "receive_to_redis_publish"  # venue frame received → Redis confirmed (end to end)
STAGE_PUSH = "signal_to_push"  # emitted → pushed to the browsers (dashboard)


class LatencyHistogram:
    """Fixed-bucket histogram of nanosecond durations; ``observe`` is cheap enough for the hot path.

    With ``window`` it also keeps the newest raw values, for exact percentiles (the dashboard's
    counters); a benchmark sets ``keep = []`` to keep every value.
    """

    __slots__ = ("bounds_ns", "counts", "sum_ns", "count", "keep")

    def __init__(self, buckets_s: Iterable[float] = LATENCY_BUCKETS_S, window: int = 0) -> None:
        self.bounds_ns = [int(round(b * 1e9)) for b in buckets_s]
        self.counts = [0] * (len(self.bounds_ns) + 1)  # the last one is +Inf
        self.sum_ns = 0
        self.count = 0
        self.keep: deque[int] | list[int] | None = deque(maxlen=window) if window else None

    def observe(self, ns: int) -> None:
        if ns < 0:
            ns = 0  # clocks of two machines may disagree by a little; never a negative bucket
        self.counts[bisect_left(self.bounds_ns, ns)] += 1
        self.sum_ns += ns
        self.count += 1
        if self.keep is not None:
            self.keep.append(ns)

    def observe_s(self, seconds: float) -> None:
        self.observe(round(seconds * 1e9))

    def cumulative(self) -> list[tuple[str, float]]:
        """Prometheus buckets: (upper bound as text, observations ≤ it), ending with +Inf."""
        out: list[tuple[str, float]] = []
        acc = 0
        for bound, c in zip(self.bounds_ns, self.counts, strict=False):
            acc += c
            out.append((repr(float(bound / 1e9)), acc))
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

    def percentiles(self, *qs: float) -> list[float | None]:
        """Nearest-rank percentiles (seconds) of the kept values; None while none are kept."""
        if not self.keep:
            return [None] * len(qs)
        data = sorted(self.keep)
        n = len(data)
        return [data[min(n - 1, max(0, math.ceil(q * n) - 1))] / 1e9 for q in qs]

    def as_dict(self) -> dict[str, Any]:
        """Summary for ``/health``: count, mean and bucket-resolution p50/p99 in µs."""
        p50, p99 = self.quantile(0.5), self.quantile(0.99)
        return {
            "count": self.count,
            "mean_us": round(self.sum_ns / self.count / 1e3, 1) if self.count else None,
            "p50_le_us": None if p50 is None else p50 * 1e6,
            "p99_le_us": None if p99 is None else p99 * 1e6,
        }


# -- the vocabulary -------------------------------------------------------------------------------

Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: its name as exposed (counters end in ``_total``), type, help, labels."""

    name: str
    kind: Kind
    doc: str
    labels: tuple[str, ...] = ()

    def __call__(self, value: float, **labels: str) -> Sample:
        """One sample of this family."""
        return Sample(self, value, labels)


@dataclass(frozen=True, slots=True)
class Sample:
    """One counter or gauge value of a family, with its labels."""

    family: Family
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)


INFO = Family("arbsniper_info", "gauge", "Always 1: the role this process plays", ("service", "name", "shard", "version"))
UPTIME = Family("arbsniper_uptime_seconds", "gauge", "Seconds since this process started")
MESSAGES = Family("arbsniper_messages_total", "counter",
                  "Market events passed on, by venue: published on ZeroMQ (ingest), processed by the engine (run, engine)",
                  ("venue",))
RECEIVED = Family("arbsniper_received_total", "counter", "Market events received from the sources, by venue", ("venue",))
DROPS = Family("arbsniper_drops_total", "counter",
               "Market events dropped by conflation (a newer one for the same kind, venue and instrument replaced it)",
               ("venue",))
VENUE_UP = Family("arbsniper_venue_up", "gauge", "1 while the venue's market connection is up", ("venue", "market"))
QUOTE_AGE = Family("arbsniper_venue_quote_age_seconds", "gauge", "Age of the venue's newest quote", ("venue",))
MARKET_EVENTS = Family("arbsniper_market_events_total", "counter", "Market events applied to the engine's state, by kind",
                       ("kind",))
REJECTED = Family("arbsniper_rejected_total", "counter", "Market events refused, by reason", ("reason",))
INSTRUMENTS = Family("arbsniper_instruments", "gauge", "Instruments the engine holds and signals on")
SIGNALS = Family("arbsniper_signals_total", "counter",
                 "Signals by lifecycle event: generated (run, engine) or received (dashboard)", ("event",))
OPEN = Family("arbsniper_open_opportunities", "gauge", "Opportunities open now")
QUEUE_PUSHED = Family("arbsniper_queue_pushed_total", "counter", "Items offered to a queue", ("queue",))
QUEUE_DROPPED = Family("arbsniper_queue_dropped_total", "counter", "Items dropped from a queue: conflated, shed when full, refused by Redis",
                       ("queue",))
QUEUE_DEPTH = Family("arbsniper_queue_depth", "gauge", "Items waiting in a queue", ("queue",))
ZMQ_CONNECTED = Family("arbsniper_zmq_connected", "gauge", "1 while at least one ingest endpoint is connected")
REDIS_CONNECTED = Family("arbsniper_redis_connected", "gauge", "1 while Redis answers")
REDIS_PUBLISHED = Family("arbsniper_redis_published_total", "counter", "Signals written to Redis")
REDIS_RECONNECTS = Family("arbsniper_redis_reconnects_total", "counter", "Times Redis came back after being unreachable")
STAGE_LATENCY = Family("arbsniper_stage_latency_seconds", "histogram", "Latency per pipeline stage", ("stage",))
WEB_CLIENTS = Family("arbsniper_web_clients", "gauge", "Browsers connected to the dashboard")
ALERTS = Family("arbsniper_alerts_total", "counter", "Alerts, by outcome", ("outcome",))
TRADER_SIGNALS = Family("arbsniper_trader_signals_total", "counter", "Open and update signals the trader considered")
TRADES = Family("arbsniper_trades_total", "counter", "Trades opened")
TRADES_REFUSED = Family("arbsniper_trades_refused_total", "counter", "Signals not traded, by reason", ("reason",))
OPEN_POSITIONS = Family("arbsniper_open_positions", "gauge", "Trades not yet closed")
TRADING_HALTED = Family("arbsniper_trading_halted", "gauge", "1 while no new trade may open (kill switch, ledger error)")

FAMILIES: tuple[Family, ...] = (
    INFO, UPTIME, MESSAGES, RECEIVED, DROPS, VENUE_UP, QUOTE_AGE, MARKET_EVENTS, REJECTED, INSTRUMENTS, SIGNALS,
    OPEN, QUEUE_PUSHED, QUEUE_DROPPED, QUEUE_DEPTH, ZMQ_CONNECTED, REDIS_CONNECTED, REDIS_PUBLISHED,
    REDIS_RECONNECTS, STAGE_LATENCY, WEB_CLIENTS, ALERTS, TRADER_SIGNALS, TRADES, TRADES_REFUSED, OPEN_POSITIONS,
    TRADING_HALTED,
)
"""Every family any role serves (the README's metrics table, in the same order)."""

# Reasons of ``arbsniper_rejected_total`` from the engine's market state (``Engine.stats()`` keys).
STATE_REJECT_REASONS = ("out_of_order", "crossed", "invalid", "ignored_down")
EVENT_KINDS = ("quotes", "books", "fundings", "statuses")

Part = Sample | Family
"""What a part reports: samples, and the families it serves (declared even while empty)."""


# -- samples of the parts every role shares -------------------------------------------------------

def process_samples(service: str, started: float, name: str = "", shard: str = "") -> list[Part]:
    """``arbsniper_info`` and ``arbsniper_uptime_seconds`` (``started``: ``time.monotonic()`` at start)."""
    return [INFO(1.0, service=service, name=name or service, shard=shard, version=__version__),
            UPTIME(time.monotonic() - started)]


def per_venue(family: Family, counts: Mapping[int, int], venues: Sequence[str], ids: Iterable[int]) -> Iterator[Part]:
    """``family{venue}`` for each venue id in ``ids`` (0 where ``counts`` has none)."""
    yield family
    for v in ids:
        yield family(counts.get(v, 0), venue=venues[v])


def queue_samples(name: str, pushed: float, dropped: float, depth: float) -> list[Part]:
    """The three queue families for one queue."""
    return [QUEUE_PUSHED(pushed, queue=name), QUEUE_DROPPED(dropped, queue=name), QUEUE_DEPTH(depth, queue=name)]


def engine_samples(stats: Mapping[str, Any], instruments: int) -> Iterator[Part]:
    """What an ``Engine`` counts (``Engine.stats()``): events by kind, refusals, signals, open, instruments."""
    yield MARKET_EVENTS
    for k in EVENT_KINDS:
        yield MARKET_EVENTS(stats[k], kind=k)
    yield REJECTED
    for k in STATE_REJECT_REASONS:
        yield REJECTED(stats[k], reason=k)
    yield SIGNALS
    for event, key in (("open", "opened"), ("update", "updated"), ("close", "closed")):
        yield SIGNALS(stats[key], event=event)
    yield OPEN(stats["open"])
    yield INSTRUMENTS(instruments)


def venue_samples(venues: Iterable[Mapping[str, Any]]) -> Iterator[Part]:
    """Connection state per venue market and quote age, from the engine view's venue health rows."""
    yield VENUE_UP
    yield QUOTE_AGE
    for v in venues:
        for market, up in v["markets"].items():
            yield VENUE_UP(1.0 if up else 0.0, venue=v["venue"], market=market)
        if v["last_quote_age_ms"] is not None:
            yield QUOTE_AGE(v["last_quote_age_ms"] / 1e3, venue=v["venue"])


# -- exposition ------------------------------------------------------------------------------------

Histograms = Callable[[], Mapping[str, LatencyHistogram]]


class ServiceCollector(Collector):
    """Turns a role's samples and stage histograms into Prometheus families at scrape time."""

    def __init__(self, samples: Callable[[], Iterable[Part]], histograms: Histograms | None = None) -> None:
        self.samples = samples
        self.histograms = histograms

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        families: dict[Family, CounterMetricFamily | GaugeMetricFamily] = {}
        for item in self.samples():
            fam = item if isinstance(item, Family) else item.family
            out = families.get(fam)
            if out is None:
                cls = CounterMetricFamily if fam.kind == "counter" else GaugeMetricFamily
                out = families[fam] = cls(fam.name, fam.doc, labels=fam.labels)
            if isinstance(item, Sample):
                if len(item.labels) != len(fam.labels):
                    raise ValueError(f"{fam.name}: labels {sorted(item.labels)}, expected {list(fam.labels)}")
                out.add_metric([item.labels[k] for k in fam.labels], item.value)
        yield from families.values()
        if self.histograms is not None:
            hist = HistogramMetricFamily(STAGE_LATENCY.name, STAGE_LATENCY.doc, labels=STAGE_LATENCY.labels)
            for stage, h in self.histograms().items():
                hist.add_metric([stage], h.cumulative(), h.sum_ns / 1e9)
            yield hist


def make_registry(*collectors: Collector) -> CollectorRegistry:
    """A registry of its own (never the global one), holding the given collectors."""
    registry = CollectorRegistry(auto_describe=True)
    for c in collectors:
        registry.register(c)
    return registry
