"""``/health`` and ``/metrics`` of the process serving the dashboard (SPEC §10).

Everything is read at request time from counters the pipeline keeps anyway, so serving them
adds nothing to the hot path. The embedded process reports its engine, queues and venues; the
distributed dashboard reports its Redis reader. Alerts and the hub add their own figures.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from arbsniper.web.hub import Hub, LatencyStats

if TYPE_CHECKING:
    from arbsniper.alerts import Alerter
    from arbsniper.app import App
    from arbsniper.web.redis_source import RedisSignals


class Status:
    """Health and metrics from whichever parts run in this process."""

    def __init__(self, hub: Hub, *, app: App | None = None, source: RedisSignals | None = None,
                 alerter: Alerter | None = None) -> None:
        self.hub = hub
        self.app = app
        self.source = source
        self.alerter = alerter
        self.started = time.monotonic()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(self))  # type: ignore[arg-type]

    def health(self) -> dict[str, Any]:
        hub = self.hub
        now_ns = time.time_ns()
        out: dict[str, Any] = {
            "status": "ok",
            "mode": hub.mode,
            "uptime_s": round(time.monotonic() - self.started, 1),
            "open": len(hub.open),
            "signals": {"opened": hub.counts["open"], "updated": hub.counts["update"], "closed": hub.counts["close"]},
            "web": {"clients": len(hub.clients), "pushes": hub.pushes,
                    "resyncs": sum(c.resyncs for c in hub.clients)},
        }
        if hub.market is not None:
            venues = hub.market.venues(now_ns)
            out["venues"] = {v.pop("venue"): v for v in venues}
            if any(v["state"] == "down" for v in out["venues"].values()):
                out["status"] = "degraded"
        if self.app is not None:
            st = self.app.stats()
            engine: dict[str, Any] = st["engine"]  # type: ignore[assignment]
            out["messages"] = {k: engine[k] for k in ("events", "quotes", "books", "fundings", "statuses",
                                                      "out_of_order", "crossed", "invalid")}
            out["queues"] = {"market": st["market_queue"], "signals": st["signal_queues"]}
            out["engine"] = {"instruments": self.app.engine.state.ni, "venues": self.app.engine.state.nv,
                             "open": engine["open"], "suspect": engine["suspect"]}
            out["signals"] = {"opened": engine["opened"], "updated": engine["updated"], "closed": engine["closed"]}
            out["history_written"] = st["history_written"]
        if self.source is not None:
            out["redis"] = self.source.stats()
            if not self.source.connected:
                out["status"] = "degraded"
        if self.alerter is not None:
            out["alerts"] = self.alerter.stats()
        return out

    def metrics(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)


def _histogram(name: str, doc: str, stage: str, lat: LatencyStats) -> HistogramMetricFamily:
    h = HistogramMetricFamily(name, doc, labels=["stage"])
    h.add_metric([stage], lat.cumulative(), lat.sum_ns / 1e9)
    return h


class _Collector:
    """Builds the metric families at scrape time."""

    def __init__(self, status: Status) -> None:
        self.status = status

    def collect(self) -> Iterator[Metric]:
        st = self.status
        hub = st.hub
        yield GaugeMetricFamily("arbsniper_uptime_seconds", "Seconds since this process started serving",
                                value=time.monotonic() - st.started)
        sig = CounterMetricFamily("arbsniper_signals", "Signals seen, by lifecycle event", labels=["event"])
        for ev, n in hub.counts.items():
            sig.add_metric([ev], n)
        yield sig
        yield GaugeMetricFamily("arbsniper_open_opportunities", "Opportunities open now", value=len(hub.open))
        yield _histogram("arbsniper_latency_seconds", "Latency per stage: venue receive to signal emit",
                         "receive_to_emit", hub.receive_to_emit)
        yield _histogram("arbsniper_push_latency_seconds", "Signal emit to WebSocket push to browsers",
                         "emit_to_push", hub.emit_to_push)
        yield GaugeMetricFamily("arbsniper_web_clients", "Browsers connected", value=len(hub.clients))
        app = st.app
        if app is not None:
            s = app.stats()
            engine: dict[str, Any] = s["engine"]  # type: ignore[assignment]
            msgs = CounterMetricFamily("arbsniper_market_events", "Market events processed by the engine, by kind",
                                       labels=["kind"])
            for k in ("quotes", "books", "fundings", "statuses"):
                msgs.add_metric([k], engine[k])
            yield msgs
            rej = CounterMetricFamily("arbsniper_market_rejected", "Market events refused by the engine, by reason",
                                      labels=["reason"])
            for k in ("out_of_order", "crossed", "invalid", "ignored_down"):
                rej.add_metric([k], engine[k])
            yield rej
            pushed = CounterMetricFamily("arbsniper_queue_pushed", "Items offered to a queue", labels=["queue"])
            dropped = CounterMetricFamily("arbsniper_queue_dropped", "Items dropped (conflated or full)", labels=["queue"])
            depth = GaugeMetricFamily("arbsniper_queue_depth", "Items waiting in a queue", labels=["queue"])
            signal_queues: dict[str, dict[str, float]] = s["signal_queues"]  # type: ignore[assignment]
            queues: dict[str, Any] = {"market": s["market_queue"], **{f"signals:{n}": q for n, q in signal_queues.items()}}
            for name, q in queues.items():
                pushed.add_metric([name], q["pushed"])
                dropped.add_metric([name], q["dropped"])
                depth.add_metric([name], q["depth"])
            yield pushed
            yield dropped
            yield depth
        if hub.market is not None:
            up = GaugeMetricFamily("arbsniper_venue_up", "1 when the venue's market connection is up",
                                   labels=["venue", "market"])
            age = GaugeMetricFamily("arbsniper_venue_quote_age_seconds", "Age of the venue's newest quote",
                                    labels=["venue"])
            for v in hub.market.venues(time.time_ns()):
                for market, ok in v["markets"].items():
                    up.add_metric([v["venue"], market], 1.0 if ok else 0.0)
                if v["last_quote_age_ms"] is not None:
                    age.add_metric([v["venue"]], v["last_quote_age_ms"] / 1e3)
            yield up
            yield age
        if st.source is not None:
            r = st.source.stats()
            yield GaugeMetricFamily("arbsniper_redis_connected", "1 while subscribed to Redis",
                                    value=1.0 if r["connected"] else 0.0)
            yield CounterMetricFamily("arbsniper_redis_signals", "Signals received from Redis pub/sub", value=r["received"])
            yield CounterMetricFamily("arbsniper_redis_reconnects", "Redis reconnections", value=r["reconnects"])
        if st.alerter is not None:
            a = st.alerter.stats()
            fam = CounterMetricFamily("arbsniper_alerts", "Alerts, by outcome", labels=["outcome"])
            for k in ("sent", "failed", "suppressed", "dropped"):
                fam.add_metric([k], a[k])
            yield fam
