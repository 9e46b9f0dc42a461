"""Simulated Paradex public JSON-RPC WebSocket: server pings, bbo, order book deltas, markets_summary.

Speaks what ``venues/paradex.py`` reads on ``/v1`` (``/perp`` first): JSON-RPC ``subscribe`` /
``unsubscribe`` with ``{"result":{"channel":…}}`` replies (a second subscribe to the same channel
is an error, as on the venue); ``bbo.{market}`` on every change; ``order_book.{market}.deltas``
starting with the whole book (``update_type`` "s") and then ``"d"`` messages whose ``seq_no`` is
the previous plus one; ``markets_summary.{market}`` with ``funding_rate`` per 8 h. The server
pings every 55 s.
"""

from __future__ import annotations

import json

from arbsniper.sim.server import SimConnection, SimVenueServer, fmt
from arbsniper.sim.synthetic import SimBook, SimFunding
from arbsniper.venues.paradex import native_symbol

Levels = list[tuple[float, float]]


def _rows(side: str, levels: Levels) -> list[dict[str, str]]:
    return [{"side": side, "price": fmt(p), "size": fmt(s)} for p, s in levels]


def _diff(old: Levels, new: Levels) -> tuple[Levels, Levels, Levels]:
    """(inserts, updates, deletes) that turn side ``old`` into ``new``."""
    old_map, new_map = dict(old), dict(new)
    inserts = [(p, s) for p, s in new if p not in old_map]
    updates = [(p, s) for p, s in new if p in old_map and old_map[p] != s]
    deletes = [(p, s) for p, s in old if p not in new_map]
    return inserts, updates, deletes


class ParadexSim(SimVenueServer):
    venue = "paradex"
    markets = ("perp",)
    server_ping_interval_s = 55.0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.native = {native_symbol(lst.instrument): lst.instrument for lst in self.listings}
        self.seq: dict[str, int] = {lst.instrument: 14_000_000 for lst in self.listings}

    def on_connect(self, conn: SimConnection) -> None:
        if conn.path != "/v1":
            conn.close(1008, "bad path")

    @staticmethod
    def _reply(conn: SimConnection, rid: object, result: dict[str, object] | None = None, error: dict[str, object] | None = None) -> None:
        body: dict[str, object] = {"jsonrpc": "2.0", "id": rid}
        if error is not None:
            body["error"] = error
        else:
            body["result"] = result
        conn.send(json.dumps(body))

    def _market_of(self, channel: str) -> str | None:
        parts = channel.split(".")
        if len(parts) == 2 and parts[0] in ("bbo", "markets_summary"):
            return parts[1]
        if len(parts) == 3 and parts[0] == "order_book" and parts[2] == "deltas":
            return parts[1]
        return None

    def on_message(self, conn: SimConnection, text: str) -> None:
        try:
            req = json.loads(text)
            method, rid, channel = req["method"], req.get("id"), req["params"]["channel"]
        except (ValueError, KeyError, TypeError):
            self._reply(conn, None, error={"code": -32700, "message": "parse error"})
            return
        market = self._market_of(channel)
        if method not in ("subscribe", "unsubscribe"):
            self._reply(conn, rid, error={"code": -32601, "message": "method does not exist"})
            return
        if market not in self.native:
            self._reply(conn, rid, error={"code": -32600, "message": "invalid subscribe request", "data": "invalid channel"})
            return
        if method == "unsubscribe":
            conn.subs.discard(channel)
            self._reply(conn, rid, {"channel": channel})
            return
        if channel in conn.subs:
            self._reply(conn, rid, error={"code": -32600, "message": "invalid subscribe request", "data": "already subscribed"})
            return
        conn.subs.add(channel)
        self._reply(conn, rid, {"channel": channel})
        inst = self.native[market]
        book = self.books.get(inst)
        if channel.startswith("order_book.") and book is not None:
            conn.send(self._book_msg(channel, market, self.seq[inst], "s", book.ts_ns, _rows("BUY", book.bids) + _rows("SELL", book.asks), [], []))

    @staticmethod
    def _book_msg(channel: str, market: str, seq: int, kind: str, ts_ns: int, inserts: list[dict[str, str]],
                  updates: list[dict[str, str]], deletes: list[dict[str, str]]) -> str:
        data = {"seq_no": seq, "market": market, "last_updated_at": ts_ns // 1_000_000, "update_type": kind,
                "inserts": inserts, "updates": updates, "deletes": deletes}
        return json.dumps({"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}, separators=(",", ":"))

    def _push(self, channel: str, data: dict[str, object]) -> None:
        conns = self.subscribers(channel)
        if conns:
            text = json.dumps({"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}, separators=(",", ":"))
            for conn in conns:
                conn.send(text)

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        inst = book.instrument
        market = native_symbol(inst)
        ms = book.ts_ns // 1_000_000
        if prev is not None and not book.crossed:
            seq = self.seq[inst] + 1
            if inst in self.faults.skip_seq:
                self.faults.skip_seq.discard(inst)
                seq += 5  # five updates the client never sees
            self.seq[inst] = seq
            bi, bu, bd = _diff(prev.bids, book.bids)
            ai, au, ad = _diff(prev.asks, book.asks)
            channel = f"order_book.{market}.deltas"
            conns = self.subscribers(channel)
            if conns:
                text = self._book_msg(channel, market, seq, "d", book.ts_ns, _rows("BUY", bi) + _rows("SELL", ai),
                                      _rows("BUY", bu) + _rows("SELL", au), _rows("BUY", bd) + _rows("SELL", ad))
                for conn in conns:
                    conn.send(text)
        (bp, bs), (ap, as_) = book.bids[0], book.asks[0]
        self._push(f"bbo.{market}", {"market": market, "seq_no": self.seq[inst], "bid": fmt(bp), "bid_size": fmt(bs),
                                     "ask": fmt(ap), "ask_size": fmt(as_), "last_updated_at": ms})

    def on_funding(self, funding: SimFunding) -> None:
        market = native_symbol(funding.instrument)
        book = self.books.get(funding.instrument)
        if book is None:
            return
        (bp, bs), (ap, as_) = book.bids[0], book.asks[0]
        mid = fmt((bp + ap) / 2)
        self._push(f"markets_summary.{market}", {
            "symbol": market, "oracle_price": mid, "mark_price": mid, "last_traded_price": mid, "bid": fmt(bp), "bid_size": fmt(bs),
            "ask": fmt(ap), "ask_size": fmt(as_), "volume_24h": "0", "total_volume": "0", "created_at": funding.ts_ns // 1_000_000,
            "underlying_price": mid, "open_interest": "100", "funding_rate": f"{funding.rate:.10f}", "price_change_rate_24h": "0"})


SERVER = ParadexSim
