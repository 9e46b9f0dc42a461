"""What the detector hands the lifecycle: the metrics of a qualifying pair and the verdict on a pair.

Their own module so that the detector (which builds them) and the lifecycle (which acts on them)
both import it and neither imports the other for its types.
"""

from __future__ import annotations

import msgspec


class Metrics(msgspec.Struct, frozen=True, gc=False):
    """The numbers of a qualifying pair, as its signal publishes them.

    A frozen ``gc=False`` struct: the fastest of struct / NamedTuple / ``__slots__`` to build and
    read (measured), and the lifecycle keeps the last one an opportunity was announced with.
    """

    spread_bps: float
    fees_bps: float
    slippage_bps: float
    funding_bps: float
    net_bps: float
    size: float  # in the base asset, after lot rounding
    profit_quote: float  # in the buy leg's quote currency
    confidence: float
    funding_delta: float  # sell-leg minus buy-leg funding, fraction per 8 h
    buy_price: float  # the buy venue's ask
    sell_price: float  # the sell venue's bid, in the sell leg's own currency
    conversion_rate: float  # sell-leg currency -> buy-leg currency (1.0 when equal)


class Verdict(msgspec.Struct, frozen=True, gc=False):
    """One pair the lifecycle must act on: it qualifies (``metrics``) or, open, no longer does (``reason``)."""

    key: int  # lifecycle.opportunity_key of the four legs below
    buy_instrument: int
    buy_venue: int
    sell_instrument: int
    sell_venue: int
    metrics: Metrics | None  # None: the open pair stopped qualifying, for ``reason``
    reason: str = ""


NOTHING: tuple[Verdict, ...] = ()  # the answer to almost every update

__all__ = ["NOTHING", "Metrics", "Verdict"]
