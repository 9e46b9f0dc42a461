"""Simulated Coinbase Advanced Trade feed: one channel per subscribe, per-connection sequence_num,
subscriptions acks, 1/s heartbeats, ticker and level2 (``l2_data`` snapshot then updates)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from arbsniper.sim.server import SimConnection, SimVenueServer, diff_levels, fmt
from arbsniper.sim.synthetic import SimBook
from arbsniper.venues.coinbase import native_symbol

CHANNELS = ("ticker", "level2", "heartbeats")


def iso(ts_ns: int) -> str:
    secs, frac = divmod(ts_ns, 1_000_000_000)
    return datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


class CoinbaseSim(SimVenueServer):
    venue = "coinbase"
    markets = ("spot",)
    timer_interval_s = 1.0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.native = {native_symbol(lst.instrument): lst.instrument for lst in self.listings}
        self.heartbeat_counter = 0

    def _send(self, conn: SimConnection, channel: str, events: list[dict[str, object]], ts_ns: int, skip: bool = False) -> None:
        conn.seq += 2 if skip else 1
        conn.send(json.dumps({"channel": channel, "client_id": "", "timestamp": iso(ts_ns), "sequence_num": conn.seq - 1,
                              "events": events}, separators=(",", ":")))

    def on_message(self, conn: SimConnection, text: str) -> None:
        try:
            req = json.loads(text)
            op, channel, products = req["type"], req["channel"], req["product_ids"]
        except (ValueError, KeyError, TypeError):
            conn.send(json.dumps({"type": "error", "message": "Failed to parse subscription"}))
            return
        if channel not in CHANNELS or any(p not in self.native for p in products) or op not in ("subscribe", "unsubscribe"):
            conn.send(json.dumps({"type": "error", "message": f"Failed to {op}: bad channel or product"}))
            return
        keys = {f"{channel}:{p}" for p in products}
        if op == "subscribe":
            conn.subs |= keys
        else:
            conn.subs -= keys
        now = time.time_ns()
        subs: dict[str, list[str]] = {}
        for key in sorted(conn.subs):
            ch, p = key.split(":")
            subs.setdefault(ch, []).append(p)
        self._send(conn, "subscriptions", [{"subscriptions": subs}], now)
        if op != "subscribe":
            return
        for p in products:
            book = self.books.get(self.native[p])
            if book is None:
                continue
            if channel == "level2":
                updates = [self._update("bid", px, q, book.ts_ns) for px, q in book.bids]
                updates += [self._update("offer", px, q, book.ts_ns) for px, q in book.asks]
                self._send(conn, "l2_data", [{"type": "snapshot", "product_id": p, "updates": updates}], book.ts_ns)
            elif channel == "ticker":
                self._send(conn, "ticker", [{"type": "snapshot", "tickers": [self._ticker(p, book)]}], book.ts_ns)

    @staticmethod
    def _update(side: str, price: float, qty: float, ts_ns: int) -> dict[str, str]:
        return {"side": side, "event_time": iso(ts_ns), "price_level": fmt(price), "new_quantity": fmt(qty)}

    @staticmethod
    def _ticker(product: str, book: SimBook) -> dict[str, str]:
        mid = (book.bids[0][0] + book.asks[0][0]) / 2
        return {"type": "ticker", "product_id": product, "price": fmt(mid), "volume_24_h": "1000", "low_24_h": fmt(mid * 0.98),
                "high_24_h": fmt(mid * 1.02), "low_52_w": fmt(mid * 0.5), "high_52_w": fmt(mid * 1.5), "price_percent_chg_24_h": "0.5",
                "best_bid": fmt(book.bids[0][0]), "best_bid_quantity": fmt(book.bids[0][1]),
                "best_ask": fmt(book.asks[0][0]), "best_ask_quantity": fmt(book.asks[0][1])}

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        product = native_symbol(book.instrument)
        for conn in self.subscribers(f"ticker:{product}"):
            self._send(conn, "ticker", [{"type": "update", "tickers": [self._ticker(product, book)]}], book.ts_ns)
        if prev is None or book.crossed:
            return
        skip = book.instrument in self.faults.skip_seq
        self.faults.skip_seq.discard(book.instrument)
        updates = [self._update("bid", p, q, book.ts_ns) for p, q in diff_levels(prev.bids, book.bids)]
        updates += [self._update("offer", p, q, book.ts_ns) for p, q in diff_levels(prev.asks, book.asks)]
        for conn in self.subscribers(f"level2:{product}"):
            self._send(conn, "l2_data", [{"type": "update", "product_id": product, "updates": updates}], book.ts_ns, skip)

    def on_timer(self) -> None:
        self.heartbeat_counter += 1
        now = time.time_ns()
        current = datetime.fromtimestamp(now / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S.%f000 +0000 UTC")
        for conn in list(self.connections):
            if any(k.startswith("heartbeats:") for k in conn.subs):
                self._send(conn, "heartbeats", [{"current_time": current, "heartbeat_counter": self.heartbeat_counter}], now)


SERVER = CoinbaseSim
