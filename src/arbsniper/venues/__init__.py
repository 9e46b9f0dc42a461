"""Venue connectors: one module per venue, listed explicitly (no directory scanning).

``REGISTRY`` maps the lowercase venue name used on the command line and in config to the
venue's facts (``VenueInfo``: its markets and the protocol class serving each, default fees,
ccxt id, listings), each defined as ``INFO`` in the venue's own module. It is the one list of
venue names in the source: config, the CLI, the live executor and the simulator derive theirs
from it. ``connect.build_venues`` turns a config into ready ``Venue`` instances (one per venue
market and connection), and ``session.VenueSession`` runs each over its WebSocket.

This package imports only venue modules (never ``config``), so ``config`` may import it.
"""

from __future__ import annotations

from arbsniper.venues import binance, bitget, bybit, coinbase, hyperliquid, kucoin, okx, paradex
from arbsniper.venues.base import NOTHING, PONG, FrameError, Heartbeat, Parsed, Venue, VenueInfo

REGISTRY: dict[str, VenueInfo] = {
    info.name: info
    for info in (binance.INFO, coinbase.INFO, bybit.INFO, okx.INFO, kucoin.INFO, bitget.INFO, hyperliquid.INFO, paradex.INFO)
}


def venue_class(name: str, market: str) -> type[Venue]:
    """The protocol class of one venue market; ValueError naming what exists."""
    info = REGISTRY.get(name)
    if info is None:
        raise ValueError(f"unknown venue {name!r} (known: {', '.join(REGISTRY)})")
    return info.venue_class(market)


__all__ = ["NOTHING", "PONG", "REGISTRY", "FrameError", "Heartbeat", "Parsed", "Venue", "VenueInfo", "venue_class"]
