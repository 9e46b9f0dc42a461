"""Simulated Bybit v5 public endpoints (spot, linear): op acks, JSON ping/pong, orderbook.1/.50, tickers."""

from __future__ import annotations

import json
import uuid

from arbsniper.sim.server import SimConnection, SimVenueServer, diff_levels, fmt, market_of
from arbsniper.sim.synthetic import SimBook, SimFunding
from arbsniper.venues.bybit import native_symbol

CATEGORY = {"spot": "spot", "perp": "linear"}


def _levels(levels: list[tuple[float, float]]) -> list[list[str]]:
    return [[fmt(p), fmt(s)] for p, s in levels]


class BybitSim(SimVenueServer):
    venue = "bybit"
    markets = ("spot", "perp")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.native = {(market_of(lst.instrument), native_symbol(lst.instrument)): lst.instrument for lst in self.listings}
        self.u: dict[tuple[str, str], int] = {}  # (instrument, depth) -> update id
        self.cross_seq = 4_000_000_000

    def on_connect(self, conn: SimConnection) -> None:
        conn.state["conn_id"] = str(uuid.UUID(int=self.connections_total))
        if conn.path != f"/v5/public/{CATEGORY[conn.market]}":
            conn.close(1008, "bad path")

    def _ack(self, conn: SimConnection, op: str, req_id: str, ok: bool, msg: str) -> None:
        body: dict[str, object] = {"success": ok, "ret_msg": msg, "conn_id": conn.state["conn_id"], "req_id": req_id, "op": op}
        conn.send(json.dumps(body))

    def on_message(self, conn: SimConnection, text: str) -> None:
        try:
            req = json.loads(text)
            op, req_id = req["op"], str(req.get("req_id", ""))
        except (ValueError, KeyError, TypeError):
            conn.send(json.dumps({"success": False, "ret_msg": "Invalid request", "conn_id": conn.state["conn_id"], "op": ""}))
            return
        if op == "ping":
            if not self.faults.mute_pongs:
                self._ack(conn, "ping", req_id, True, "pong")
            return
        args = req.get("args", [])
        if conn.market == "spot" and len(args) > 10:
            self._ack(conn, op, req_id, False, "args size >10")
            return
        for topic in args:
            parts = topic.split(".")
            ok = (len(parts) == 3 and parts[0] == "orderbook" and parts[1] in ("1", "50", "200")) or (
                len(parts) == 2 and parts[0] == "tickers")
            inst = self.native.get((conn.market, parts[-1]))
            if not ok or inst is None:
                self._ack(conn, op, req_id, False, f"Invalid topic: {topic}")
                return
        for topic in args:
            if op == "subscribe":
                conn.subs.add(topic)
            elif op == "unsubscribe":
                conn.subs.discard(topic)
        self._ack(conn, op, req_id, True, op if conn.market == "spot" else "")
        if op == "subscribe":
            for topic in args:
                self._snapshot(conn, topic)

    def _snapshot(self, conn: SimConnection, topic: str) -> None:
        parts = topic.split(".")
        inst = self.native[(conn.market, parts[-1])]
        book = self.books.get(inst)
        if book is None:
            return
        if parts[0] == "orderbook":
            depth = int(parts[1])
            key = (inst, parts[1])
            self.u.setdefault(key, 100)  # the current id: the next delta is id + 1 on every connection
            data = {"s": parts[2], "b": _levels(book.bids[:depth]), "a": _levels(book.asks[:depth]), "u": self.u[key], "seq": self.cross_seq}
            conn.send(json.dumps({"topic": topic, "type": "snapshot", "ts": book.ts_ns // 1_000_000, "data": data, "cts": book.ts_ns // 1_000_000}))
        else:
            f = self.fundings.get(inst)
            data = {"symbol": parts[1], "bid1Price": fmt(book.bids[0][0]), "bid1Size": fmt(book.bids[0][1]),
                    "ask1Price": fmt(book.asks[0][0]), "ask1Size": fmt(book.asks[0][1])}
            if f is not None:
                data.update(self._funding_fields(f))
            conn.send(json.dumps({"topic": topic, "type": "snapshot", "data": data, "cs": self.cross_seq, "ts": book.ts_ns // 1_000_000}))

    @staticmethod
    def _funding_fields(f: SimFunding) -> dict[str, str]:
        return {"fundingRate": f"{f.rate:.8f}", "nextFundingTime": str(f.next_funding_ts_ns // 1_000_000),
                "fundingIntervalHour": f"{f.interval_hours:g}"}

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        inst = book.instrument
        sym = native_symbol(inst)
        ms = book.ts_ns // 1_000_000
        if prev is None:
            return
        if book.crossed:
            # The bad quote goes out on the level-1 stream only, as a delta crossing the book.
            self._delta(inst, sym, "1", [(book.bids[0][0], book.bids[0][1])], [(book.asks[0][0], book.asks[0][1])], ms)
            return
        skip = inst in self.faults.skip_seq
        self.faults.skip_seq.discard(inst)
        self._delta(inst, sym, "1", diff_levels(prev.bids[:1], book.bids[:1]), diff_levels(prev.asks[:1], book.asks[:1]), ms)
        self._delta(inst, sym, "50", diff_levels(prev.bids, book.bids), diff_levels(prev.asks, book.asks), ms, skip)

    def _delta(self, inst: str, sym: str, depth: str, bids: list[tuple[float, float]], asks: list[tuple[float, float]],
               ms: int, skip: bool = False) -> None:
        topic = f"orderbook.{depth}.{sym}"
        market = market_of(inst)
        subs = [c for c in self.connections if c.market == market and topic in c.subs]
        key = (inst, depth)
        self.u[key] = self.u.get(key, 100) + (6 if skip else 1)
        self.cross_seq += 1
        if not subs:
            return
        msg = json.dumps({"topic": topic, "type": "delta", "ts": ms, "data": {"s": sym, "b": _levels(bids), "a": _levels(asks),
                          "u": self.u[key], "seq": self.cross_seq}, "cts": ms}, separators=(",", ":"))
        for conn in subs:
            conn.send(msg)

    def on_funding(self, funding: SimFunding) -> None:
        sym = native_symbol(funding.instrument)
        topic = f"tickers.{sym}"
        msg = json.dumps({"topic": topic, "type": "delta", "data": {"symbol": sym, **self._funding_fields(funding)},
                          "cs": self.cross_seq, "ts": funding.ts_ns // 1_000_000})
        for conn in self.connections:
            if conn.market == "perp" and topic in conn.subs:
                conn.send(msg)


SERVER = BybitSim
