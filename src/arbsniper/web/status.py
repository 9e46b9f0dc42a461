"""``/health`` and ``/metrics`` of the process serving the dashboard (SPEC §10).

Everything is read at request time from counters the pipeline keeps anyway, so serving them
adds nothing to the hot path. Embedded (``arbsniper run``), the pipeline reports its engine,
queues, trader, alerts and Redis publisher (``Pipeline.samples``), and the hub adds its venues
and browsers; distributed (``arbsniper dashboard``), the hub reports the signals it received and
the Redis reader its connection. Metric names come from ``metrics``, the same in every mode.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from arbsniper.metrics import (
    OPEN,
    SIGNALS,
    STAGE_PUSH,
    STAGE_RECEIVE_SIGNAL,
    WEB_CLIENTS,
    LatencyHistogram,
    Part,
    ServiceCollector,
    make_registry,
    process_samples,
    venue_samples,
)
from arbsniper.web.hub import Hub

if TYPE_CHECKING:
    from arbsniper.alerts import Alerter
    from arbsniper.web.pipeline import Pipeline
    from arbsniper.web.redis_source import RedisSignals


class Status:
    """Health and metrics from whichever parts run in this process."""

    def __init__(self, hub: Hub, *, pipeline: Pipeline | None = None, source: RedisSignals | None = None,
                 alerter: Alerter | None = None) -> None:
        self.hub = hub
        self.pipeline = pipeline
        self.source = source
        self._alerter = alerter
        self.started = time.monotonic()
        self.registry = make_registry(ServiceCollector(self.samples, self.histograms))

    @property
    def alerter(self) -> Alerter | None:
        return self._alerter or (self.pipeline.alerter if self.pipeline is not None else None)

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
        if self.pipeline is not None:
            st = self.pipeline.stats()
            engine: dict[str, Any] = st["engine"]
            out["messages"] = {k: engine[k] for k in ("events", "quotes", "books", "fundings", "statuses",
                                                      "out_of_order", "crossed", "invalid")}
            out["queues"] = {"market": st["market_queue"], "signals": st["signal_queues"]}
            state = self.pipeline.engine.state
            out["engine"] = {"instruments": state.ni, "venues": state.nv, "open": engine["open"],
                             "suspect": engine["suspect"]}
            out["signals"] = {"opened": engine["opened"], "updated": engine["updated"], "closed": engine["closed"]}
            out["history_written"] = st["history_written"]
        if self.source is not None:
            out["redis"] = self.source.stats()
            if not self.source.connected:
                out["status"] = "degraded"
        if self.alerter is not None:
            out["alerts"] = self.alerter.stats()
        return out

    def samples(self) -> list[Part]:
        """The pipeline's samples (embedded) or the hub's signals (distributed), plus the web's own."""
        hub = self.hub
        if self.pipeline is not None:
            out = self.pipeline.samples()  # its alerter's too
        else:
            out = process_samples("dashboard", self.started)
            out.append(SIGNALS)
            out += [SIGNALS(n, event=ev) for ev, n in hub.counts.items()]
            out.append(OPEN(len(hub.open)))
            if self.source is not None:
                out += self.source.samples()
            if self.alerter is not None:
                out += self.alerter.samples()
        out.append(WEB_CLIENTS(len(hub.clients)))
        if hub.market is not None:
            out += venue_samples(hub.market.venues(time.time_ns()))
        return out

    def histograms(self) -> dict[str, LatencyHistogram]:
        if self.pipeline is not None:
            return {**self.pipeline.histograms(), STAGE_PUSH: self.hub.signal_to_push}
        return {STAGE_RECEIVE_SIGNAL: self.hub.receive_to_signal, STAGE_PUSH: self.hub.signal_to_push}
