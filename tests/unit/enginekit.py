"""A small harness to drive the engine with hand-made events in tests."""

from __future__ import annotations

from typing import Any

import msgspec

from arbsniper.config import Config
from arbsniper.engine import Engine
from arbsniper.engine.verdicts import Verdict
from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, Funding, Quote, Signal, VenueStatus

T0 = 1_800_000_000_000_000_000  # an arbitrary receive time, ns


def make_config(**sections: Any) -> Config:
    return msgspec.convert(sections, Config)


class Harness:
    """An engine over named venues and instruments, with a settable clock."""

    def __init__(self, venue_names: tuple[str, ...] = ("binance", "okx"),
                 instrument_names: tuple[str, ...] = ("BTC/USDT",), **config: Any) -> None:
        self.config = make_config(**config)
        self.symbols = SymbolMap()
        self.v = {name: self.symbols.venue_id(name) for name in venue_names}
        self.i = {name: self.symbols.instrument_id(name) for name in instrument_names}
        self.signals: list[Signal] = []
        self.now = T0
        self.engine = Engine(self.symbols, self.config, self.signals.append, clock_ns=lambda: self.now)
        for name in self.symbols.instruments:  # conversion sources registered by the engine
            self.i.setdefault(name.name, self.symbols.instrument_id(name.name))
        self.engine.grow()
        self.seq: dict[tuple[str, str], int] = {}

    def make_quote(self, venue: str, instrument: str, bid: float, ask: float, bid_size: float = 1.0,
                   ask_size: float = 1.0, at: int | None = None, exch: int | None = None,
                   seq: int | None = None) -> Quote:
        at = self.now if at is None else at
        self.now = max(self.now, at)
        if seq is None:
            seq = self.seq.get((venue, instrument), 0) + 1
        self.seq[(venue, instrument)] = seq
        return Quote(self.v[venue], self.i[instrument], bid, bid_size, ask, ask_size, at if exch is None else exch, at, seq)

    def quote(self, venue: str, instrument: str, bid: float, ask: float, bid_size: float = 1.0, ask_size: float = 1.0,
              at: int | None = None, exch: int | None = None, seq: int | None = None) -> None:
        self.engine.on_event(self.make_quote(venue, instrument, bid, ask, bid_size, ask_size, at, exch, seq))

    def scan(self, venue: str, instrument: str, bid: float, ask: float, bid_size: float = 1.0,
             ask_size: float = 1.0) -> tuple[Verdict, ...]:
        """Apply a quote to the market state and ask the detector alone: no lifecycle, no signal."""
        q = self.make_quote(venue, instrument, bid, ask, bid_size, ask_size)
        assert self.engine.state.apply_quote(q)
        return self.engine.detector.scan(q.instrument, q.venue, q.recv_ts_ns)

    def book(self, venue: str, instrument: str, bids: list[tuple[float, float]], asks: list[tuple[float, float]],
             at: int | None = None) -> None:
        at = self.now if at is None else at
        self.now = max(self.now, at)
        self.engine.on_event(Book(self.v[venue], self.i[instrument], bids, asks, at, at, 0))

    def funding(self, venue: str, instrument: str, rate: float, interval_hours: float) -> None:
        self.engine.on_event(Funding(self.v[venue], self.i[instrument], rate, interval_hours, 0, self.now, self.now))

    def status(self, venue: str, state: int, reason: str = "test", instrument: str | None = None) -> None:
        iid = -1 if instrument is None else self.i[instrument]
        self.engine.on_event(VenueStatus(self.v[venue], state, reason, self.now, -1, iid))

    def advance_ms(self, ms: float) -> None:
        self.now += int(ms * 1_000_000)

    def events(self, kind: str) -> list[Signal]:
        return [s for s in self.signals if s.event == kind]

    @property
    def last(self) -> Signal:
        return self.signals[-1]
