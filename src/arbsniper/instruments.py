"""Unified instruments and the symbol map that interns names to small integer ids.

Unified names follow the ccxt convention users know: ``BTC/USDT`` is spot, ``BTC/USDT:USDT`` a
linear perpetual settled in USDT. Instruments with the same base and kind but different quote
currencies (``BTC/USD`` vs ``BTC/USDT``) form one *group*: they are compared only through a live
conversion rate, never as if the currencies were equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from arbsniper.model import PERP, SPOT

_CODE = re.compile(r"^[A-Z0-9]{1,20}$")


class InstrumentError(ValueError):
    """A unified instrument name that cannot be parsed or is not known."""


@dataclass(frozen=True, slots=True)
class Instrument:
    """A unified instrument: ``BASE/QUOTE`` (spot) or ``BASE/QUOTE:SETTLE`` (linear perpetual)."""

    name: str
    base: str
    quote: str
    settle: str | None

    @property
    def kind(self) -> int:
        return SPOT if self.settle is None else PERP

    @property
    def is_perp(self) -> bool:
        return self.settle is not None


def parse_instrument(name: str) -> Instrument:
    """Parse and validate a unified instrument name."""
    if not isinstance(name, str) or not name:
        raise InstrumentError(f"instrument name must be a non-empty string, got {name!r}")
    pair, sep, settle = name.partition(":")
    base, slash, quote = pair.partition("/")
    if not slash:
        raise InstrumentError(f"instrument {name!r}: expected BASE/QUOTE or BASE/QUOTE:SETTLE")
    for part, what in ((base, "base"), (quote, "quote")):
        if not _CODE.match(part):
            raise InstrumentError(f"instrument {name!r}: {what} currency {part!r} is not an upper-case code")
    if sep:
        if not _CODE.match(settle):
            raise InstrumentError(f"instrument {name!r}: settle currency {settle!r} is not an upper-case code")
        if base == quote:
            raise InstrumentError(f"instrument {name!r}: base and quote are the same")
        return Instrument(name, base, quote, settle)
    if base == quote:
        raise InstrumentError(f"instrument {name!r}: base and quote are the same")
    return Instrument(name, base, quote, None)


@dataclass
class SymbolMap:
    """Interns venues, instruments and currencies to dense ids, in both directions.

    A venue's native symbols (``BTCUSDT``, ``BTC-USD-SWAP``) are mapped by that venue market's
    parser (``Venue.instrument_id``): the same native symbol names different instruments on the
    spot and perpetual markets of Binance and Bybit.
    """

    venues: list[str] = field(default_factory=list)
    instruments: list[Instrument] = field(default_factory=list)
    currencies: list[str] = field(default_factory=list)
    _venue_ids: dict[str, int] = field(default_factory=dict)
    _instrument_ids: dict[str, int] = field(default_factory=dict)
    _currency_ids: dict[str, int] = field(default_factory=dict)

    def venue_id(self, name: str) -> int:
        """Return the id of a venue name, adding it when new."""
        vid = self._venue_ids.get(name)
        if vid is None:
            vid = len(self.venues)
            self.venues.append(name)
            self._venue_ids[name] = vid
        return vid

    def find_venue(self, name: str) -> int | None:
        return self._venue_ids.get(name)

    def instrument_id(self, name: str) -> int:
        """Return the id of a unified instrument name, adding (and validating) it when new."""
        iid = self._instrument_ids.get(name)
        if iid is None:
            inst = parse_instrument(name)
            iid = len(self.instruments)
            self.instruments.append(inst)
            self._instrument_ids[name] = iid
            self.currency_id(inst.base)
            self.currency_id(inst.quote)
        return iid

    def find_instrument(self, name: str) -> int | None:
        return self._instrument_ids.get(name)

    def currency_id(self, code: str) -> int:
        cid = self._currency_ids.get(code)
        if cid is None:
            cid = len(self.currencies)
            self.currencies.append(code)
            self._currency_ids[code] = cid
        return cid

    def find_currency(self, code: str) -> int | None:
        return self._currency_ids.get(code)

    def venue_name(self, venue_id: int) -> str:
        return self.venues[venue_id]

    def instrument_name(self, instrument_id: int) -> str:
        return self.instruments[instrument_id].name

    def groups(self) -> dict[tuple[str, int], list[int]]:
        """Instruments of one base and kind, whatever their quote currency: the comparable sets."""
        out: dict[tuple[str, int], list[int]] = {}
        for iid, inst in enumerate(self.instruments):
            out.setdefault((inst.base, inst.kind), []).append(iid)
        return out
