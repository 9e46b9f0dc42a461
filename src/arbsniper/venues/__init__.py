"""Venue connectors: one module per venue, listed explicitly (no directory scanning).

``REGISTRY`` maps the lowercase venue name used on the command line and in config to its
``Venue`` class; ``build_venues`` turns a config into ready ``Venue`` instances (one per venue
market and connection), and ``session.VenueSession`` runs each over its WebSocket.
"""

from __future__ import annotations

from arbsniper.venues.base import FrameError, Heartbeat, Venue
from arbsniper.venues.binance import Binance
from arbsniper.venues.bitget import Bitget
from arbsniper.venues.bybit import Bybit
from arbsniper.venues.coinbase import Coinbase
from arbsniper.venues.hyperliquid import Hyperliquid
from arbsniper.venues.kucoin import KuCoin
from arbsniper.venues.okx import Okx
from arbsniper.venues.paradex import Paradex

REGISTRY: dict[str, type[Venue]] = {
    "binance": Binance,
    "coinbase": Coinbase,
    "bybit": Bybit,
    "okx": Okx,
    "kucoin": KuCoin,
    "bitget": Bitget,
    "hyperliquid": Hyperliquid,
    "paradex": Paradex,
}

__all__ = ["REGISTRY", "FrameError", "Heartbeat", "Venue"]
