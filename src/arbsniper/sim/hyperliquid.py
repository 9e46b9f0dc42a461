"""Simulated Hyperliquid info WebSocket: greeting, JSON ping/pong, bbo, full l2Book, activeAssetCtx.

Speaks what ``venues/hyperliquid.py`` reads on ``/ws`` (``/perp`` first): the plain-text greeting
on connect; ``{"method":"subscribe","subscription":{"type","coin"}}`` →
``{"channel":"subscriptionResponse","data":…}`` followed at once by the current ``bbo`` /
``l2Book``; both again on every change (``l2Book`` is always the whole book); funding as
``activeAssetCtx`` with the hourly ``funding`` rate. Bad requests get ``{"channel":"error"}``.
"""

from __future__ import annotations

import json

from arbsniper.sim.server import SimConnection, SimVenueServer, fmt
from arbsniper.sim.synthetic import SimBook, SimFunding
from arbsniper.venues.hyperliquid import WELCOME, native_symbol

TYPES = ("bbo", "l2Book", "activeAssetCtx")


def _level(price: float, size: float) -> dict[str, object]:
    return {"px": fmt(price), "sz": fmt(size), "n": 1}


class HyperliquidSim(SimVenueServer):
    venue = "hyperliquid"
    markets = ("perp",)
    has_sequence = False  # l2Book is a full snapshot every time: nothing to lose

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.native = {native_symbol(lst.instrument): lst.instrument for lst in self.listings}

    def on_connect(self, conn: SimConnection) -> None:
        if conn.path != "/ws":
            conn.close(1008, "bad path")
            return
        conn.send(WELCOME)

    def on_message(self, conn: SimConnection, text: str) -> None:
        try:
            req = json.loads(text)
            method = req["method"]
        except (ValueError, KeyError, TypeError):
            conn.send(json.dumps({"channel": "error", "data": f"Error parsing JSON into valid websocket request: {text}"}))
            return
        if method == "ping":
            if not self.faults.mute_pongs:
                conn.send('{"channel":"pong"}')
            return
        sub = req.get("subscription") or {}
        kind, coin = sub.get("type"), sub.get("coin")
        if method not in ("subscribe", "unsubscribe") or kind not in TYPES or coin not in self.native:
            conn.send(json.dumps({"channel": "error", "data": f"Error parsing JSON into valid websocket request: {text}"}))
            return
        key = f"{kind}:{coin}"
        if method == "unsubscribe":
            conn.subs.discard(key)
            conn.send(json.dumps({"channel": "subscriptionResponse", "data": {"method": "unsubscribe", "subscription": sub}}))
            return
        conn.subs.add(key)
        conn.send(json.dumps({"channel": "subscriptionResponse", "data": {"method": "subscribe", "subscription": sub}}))
        book = self.books.get(self.native[coin])
        if book is not None and kind in ("bbo", "l2Book"):
            conn.send(self._bbo(coin, book) if kind == "bbo" else self._l2(coin, book))

    @staticmethod
    def _bbo(coin: str, book: SimBook) -> str:
        data = {"coin": coin, "time": book.ts_ns // 1_000_000, "bbo": [_level(*book.bids[0]), _level(*book.asks[0])]}
        return json.dumps({"channel": "bbo", "data": data}, separators=(",", ":"))

    @staticmethod
    def _l2(coin: str, book: SimBook) -> str:
        data = {"coin": coin, "time": book.ts_ns // 1_000_000,
                "levels": [[_level(p, s) for p, s in book.bids], [_level(p, s) for p, s in book.asks]]}
        return json.dumps({"channel": "l2Book", "data": data}, separators=(",", ":"))

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        coin = native_symbol(book.instrument)
        for kind, render in (("bbo", self._bbo), ("l2Book", self._l2)):
            conns = self.subscribers(f"{kind}:{coin}")
            if conns:
                text = render(coin, book)
                for conn in conns:
                    conn.send(text)

    def on_funding(self, funding: SimFunding) -> None:
        coin = native_symbol(funding.instrument)
        book = self.books.get(funding.instrument)
        mid = (book.bids[0][0] + book.asks[0][0]) / 2 if book else 0.0
        ctx = {"funding": f"{funding.rate:.10f}", "openInterest": "1000.0", "prevDayPx": fmt(mid), "dayNtlVlm": "0.0",
               "premium": "0.0", "oraclePx": fmt(mid), "markPx": fmt(mid), "midPx": fmt(mid), "impactPxs": [fmt(mid), fmt(mid)]}
        text = json.dumps({"channel": "activeAssetCtx", "data": {"coin": coin, "ctx": ctx}}, separators=(",", ":"))
        for conn in self.subscribers(f"activeAssetCtx:{coin}"):
            conn.send(text)


SERVER = HyperliquidSim
