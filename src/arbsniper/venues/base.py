"""The small interface every venue module implements: protocol facts plus a parser.

A venue module supplies data (endpoints, subscribe frames, heartbeat rule, fees) and parsing; the
one WebSocket session in ``session.py`` does all I/O. Parsers are synchronous and do no I/O, so
``arbsniper parse``, ``arbsniper replay`` and the tests drive them with recorded frames.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from arbsniper.instruments import SymbolMap
from arbsniper.model import MarketEvent


class FrameError(ValueError):
    """A frame that is not valid market data for this venue (counted and skipped by the session)."""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """How a connection is kept alive and how a dead one is noticed.

    ``mode``: ``"server-ping"`` (the venue sends protocol pings, we answer pongs; the WebSocket
    library does that), ``"client-ping"`` (we send protocol pings), ``"text"`` / ``"json"`` (we send
    ``payload`` as a text frame every ``interval_s``). ``timeout_s``: no frame at all for this long
    means the connection is dead, so reconnect.
    """

    mode: str
    interval_s: float
    timeout_s: float
    payload: str = ""


class Venue:
    """One venue market (e.g. Binance spot) for a set of unified instruments.

    Subclasses set the class attributes and implement ``ws_url``, ``subscribe_messages`` and
    ``parse``. ``parse`` is given each text frame with its local receive time and returns the
    normalized events it holds (empty for acks, pongs and other control frames); it raises
    ``FrameError`` for frames that are malformed or carry invalid values.
    """

    name: ClassVar[str]
    markets: ClassVar[tuple[str, ...]]  # the markets this module serves: ("spot", "perp")

    def __init__(
        self,
        market: str,
        symbols: SymbolMap,
        instruments: Sequence[str],
        base_url: str | None = None,
        rest_url: str | None = None,
    ) -> None:
        if market not in self.markets:
            raise ValueError(f"{self.name}: no {market!r} market (has {', '.join(self.markets)})")
        self.market = market
        self.symbols = symbols
        self.venue_id = symbols.venue_id(self.name)
        self.instruments = list(instruments)
        self.base_url = base_url
        self.rest_url = rest_url

    def ws_url(self) -> str:
        raise NotImplementedError

    def subscribe_messages(self) -> list[str]:
        raise NotImplementedError

    def parse(self, frame: str | bytes, recv_ts_ns: int) -> list[MarketEvent]:
        raise NotImplementedError


EventSink = Callable[[MarketEvent], None]


class MarketSource(Protocol):
    """Anything that produces normalized market events: connectors, the synthetic market, a replay."""

    async def run(self, sink: EventSink) -> None:
        """Push events into ``sink`` until cancelled; never block the loop per event."""
        ...
