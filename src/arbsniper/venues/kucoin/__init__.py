"""KuCoin: two protocols, spot (``spot.py``) and futures (``futures.py``), sharing the token
handshake, the envelope and the snapshot + increments machinery (``common.py``).

Protocol (shared/venues.md §5; KuCoin futures docs as quoted in kucoin-api-docs and ccxt):
before connecting, ``POST {rest}/api/v1/bullet-public`` returns a token, the WebSocket endpoint
and the ping rule; the server then says ``{"type":"welcome"}`` and only then accepts
subscriptions; the client pings ``{"id":…,"type":"ping"}`` every ``pingInterval`` ms and the
server answers ``{"type":"pong"}``. Spot REST ``https://api.kucoin.com``, futures REST
``https://api-futures.kucoin.com``.
"""

from __future__ import annotations

from collections.abc import Sequence

from arbsniper.venues.base import DEMO_BASES, VenueInfo
from arbsniper.venues.kucoin.futures import KuCoinFutures
from arbsniper.venues.kucoin.spot import KuCoinSpot

SPOT_QUOTES = ("USDT", "USDC")
PERP_QUOTES = ("USDT",)
CONVERSION_SPOT = ("USDC/USDT",)


def listed_instruments(market: str, bases: Sequence[str]) -> list[str]:
    """Unified instruments KuCoin lists for ``bases`` in ``market`` (plus its conversion markets on spot)."""
    if market == "spot":
        return [f"{b}/{q}" for b in bases for q in SPOT_QUOTES] + list(CONVERSION_SPOT)
    return [f"{b}/{q}:{q}" for b in bases for q in PERP_QUOTES]


INFO = VenueInfo(
    name=KuCoinSpot.name,
    markets={"spot": KuCoinSpot, "perp": KuCoinFutures},
    taker_fee_bps={"spot": 10.0, "perp": 6.0},
    ccxt_id="kucoin",
    demo_instruments=(*(f"{b}/USDT" for b in DEMO_BASES), *(f"{b}/USDT:USDT" for b in DEMO_BASES)),
    listed=listed_instruments,
)

__all__ = ["INFO", "KuCoinFutures", "KuCoinSpot", "listed_instruments"]
