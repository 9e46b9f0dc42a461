"""Instrument metadata: what a venue lists, in which units, read from its public REST listing.

A feed's sizes mean nothing without this record: OKX swap sizes are contracts (BTC-USDT-SWAP
``ctVal`` 0.01 BTC, so ``"bidSz":"431"`` is 4.31 BTC), KuCoin futures sizes are lots of
``multiplier``, Coinbase futures sizes are contracts of ``contract_size``. Each venue module parses
its own listing (``Venue.metadata_requests`` / ``Venue.parse_metadata``, pure) into one
``InstrumentMeta`` per instrument; the session side fetches, caches and refreshes them
(``venues/catalog.py``), and every parser converts sizes to base units with ``contract_size``.

Units, always: sizes (``lot_size``, ``min_size``) in base units, prices (``tick_size``) and
``min_notional`` in the quote currency, ``funding_interval_hours`` in hours.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

# Trading status, normalised from each venue's own word (kept in ``venue_status``).
TRADING = "trading"  # continuous trading: subscribe, signal
HALTED = "halted"  # suspended, paused, cancel-only, in maintenance: no new trade
PRELAUNCH = "prelaunch"  # listed, not yet trading (pre-market, auction)
DELISTED = "delisted"  # gone or going (settling, closed, delisted)
STATUSES = (TRADING, HALTED, PRELAUNCH, DELISTED)


class MetadataError(ValueError):
    """A metadata response that is not the venue's listing format (the message says what is wrong)."""


class RestRequest(msgspec.Struct, frozen=True):
    """One HTTP request a venue needs made; the session side's REST helper sends it.

    ``url`` is absolute (the venue builds it from its REST base, which tests and the simulator
    override). ``name`` says which response it is when a venue reads several (Binance
    ``exchangeInfo`` + ``fundingInfo``); every page of a paginated request keeps its name.
    """

    method: str  # "GET" | "POST"
    url: str
    name: str = ""
    body: str | None = None  # JSON body of a POST (Hyperliquid /info)


class InstrumentMeta(msgspec.Struct, frozen=True, kw_only=True):
    """One instrument on one venue market, as the venue describes it, in our units."""

    venue: str
    market: str  # "spot" | "perp"
    native_symbol: str  # the venue's symbol (BTC-USDT-SWAP, XBTUSDTM, BIP-20DEC30-CDE)
    instrument: str  # the unified name, through the venue's own mapping (aliases applied)
    status: str  # one of STATUSES
    venue_status: str = ""  # the venue's own word for it ("live", "suspend", "Open", "TRADING")
    contract_size: float = 1.0  # base units per unit of the venue's size fields (1: sizes are base)
    lot_size: float = 0.0  # order size step, base units (0: not given)
    tick_size: float = 0.0  # price step, quote currency (0: not given)
    min_size: float = 0.0  # smallest order, base units
    min_notional: float = 0.0  # smallest order value, quote currency
    funding_interval_hours: float = 0.0  # perpetuals; 0 on spot
    venue_base: str = ""  # the venue's own base code before aliasing (XBT, UBTC), when it differs
    quote_volume_24h: float = 0.0  # from the venue's ticker endpoint, for ranking (0: not known)
    last_price: float = 0.0  # ditto, for the asset-identity check at start (0: not known)

    @property
    def trading(self) -> bool:
        return self.status == TRADING


class SubscriptionLimits(msgspec.Struct, frozen=True, kw_only=True):
    """What one venue market accepts from one client, from its documentation (shared/venues.md).

    The connector splits its instruments over as many connections as these need and paces its
    subscribe requests under them; the simulator refuses what goes beyond them, as the venue does.
    """

    streams_per_instrument: int  # topics / args one instrument takes (BBO + depth + funding …)
    max_streams_per_connection: int  # e.g. Binance 1024 streams, Bitget 1000 channels
    max_args_per_request: int  # e.g. Bybit spot 10 args per subscribe request
    max_requests_per_s: float  # client → server messages per second (pings included where counted)
    max_requests_per_hour: int = 0  # per connection (OKX 480, Bitget 240); 0: no such limit
    max_connections: int = 0  # per IP where documented; 0: no documented limit
    max_streams_per_ip: int = 0  # subscriptions over every connection from one IP (Hyperliquid 1000); 0: none
    rate_per_ip: bool = False  # ``max_requests_per_s`` counts every connection from one IP (Coinbase, Hyperliquid)

    def instruments_per_connection(self) -> int:
        """How many instruments one connection holds within ``max_streams_per_connection``."""
        return max(1, self.max_streams_per_connection // max(1, self.streams_per_instrument))


class MetadataSource:
    """The class-level hooks a venue protocol class implements to describe its listing (pure).

    Mixed into ``Venue``: these are class methods because metadata is read before any connection
    (and any ``Venue`` instance) exists.
    """

    subscription_limits: ClassVar[SubscriptionLimits]
    sizes_in_contracts: ClassVar[bool] = False  # the feed's sizes are contracts/lots: metadata required

    @classmethod
    def default_rest_base(cls, market: str) -> str:
        """The venue's public REST base URL for ``market`` (overridden by ``rest_url``)."""
        raise NotImplementedError

    @classmethod
    def metadata_requests(cls, market: str, rest_base: str) -> list[RestRequest]:
        """The requests whose answers make up the listing of ``market`` (instruments, funding, tickers)."""
        raise NotImplementedError

    @classmethod
    def next_page(cls, market: str, request: RestRequest, body: bytes) -> RestRequest | None:
        """The next page of a paginated request (Bybit's ``cursor``), or None when this was the last."""
        return None

    @classmethod
    def parse_metadata(cls, market: str, bodies: dict[str, list[bytes]]) -> list[InstrumentMeta]:
        """Every instrument of ``market`` from the answers (``bodies[name]`` = its pages, in order).

        Instruments we cannot trade as a unified spot or linear perpetual (inverse, dated,
        options) are left out; MetadataError when a body is not the venue's format.
        """
        raise NotImplementedError


__all__ = [
    "DELISTED", "HALTED", "PRELAUNCH", "STATUSES", "TRADING", "InstrumentMeta", "MetadataError",
    "MetadataSource", "RestRequest", "SubscriptionLimits",
]
