"""Simulated Bitget v2 public endpoint: text ping/pong, op acks, books1, books (CRC32 checksum), ticker.

Speaks what ``venues/bitget.py`` reads on ``/v2/ws/public`` (``/{market}`` first picks spot or
futures): ``{"op":"subscribe","args":[{"instType","channel","instId"}]}`` → one
``{"event":"subscribe","arg":…}`` per arg (``{"event":"error",…}`` for an unknown one);
subscribing ``books`` sends a ``snapshot`` (checksum 0, as v2 does) and then ``update``s whose
checksum is the signed CRC32 of the top 25 levels, interleaved, in the strings sent;
``books1`` on every change; futures ``ticker`` with ``fundingRate``/``nextFundingTime``.
"""

from __future__ import annotations

import json

from arbsniper.sim.server import SimConnection, SimVenueServer, diff_levels, fmt, fmt_levels, market_of
from arbsniper.sim.synthetic import SimBook, SimFunding
from arbsniper.venues.bitget import inst_type, native_symbol
from arbsniper.venues.book import checksum_crc32

CHANNELS = ("books1", "books", "ticker")

Levels = list[tuple[float, float]]


def _levels(levels: Levels) -> list[list[str]]:
    return [[fmt(p), fmt(s)] for p, s in levels]


class BitgetSim(SimVenueServer):
    venue = "bitget"
    markets = ("spot", "perp")
    has_sequence = False  # v2 books carry no sequence numbers
    has_checksum = True

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.native = {(market_of(lst.instrument), native_symbol(market_of(lst.instrument), lst.instrument)): lst.instrument
                       for lst in self.listings}

    def on_connect(self, conn: SimConnection) -> None:
        if conn.path != "/v2/ws/public":
            conn.close(1008, "bad path")

    def on_message(self, conn: SimConnection, text: str) -> None:
        if text == "ping":
            if not self.faults.mute_pongs:
                conn.send("pong")
            return
        try:
            req = json.loads(text)
            op, args = req["op"], req["args"]
        except (ValueError, KeyError, TypeError):
            conn.send('{"event":"error","code":30001,"msg":"param error"}')
            return
        for arg in args:
            channel, inst_id, kind = arg.get("channel"), arg.get("instId"), arg.get("instType")
            inst = self.native.get((conn.market, inst_id))
            if op not in ("subscribe", "unsubscribe") or channel not in CHANNELS or inst is None or kind != inst_type(conn.market, inst_id):
                conn.send(json.dumps({"event": "error", "arg": arg, "code": 30001,
                                      "msg": f"instType:{kind},channel:{channel},instId:{inst_id} doesn't exist"}))
                continue
            key = f"{channel}:{inst_id}"
            if op == "unsubscribe":
                conn.subs.discard(key)
                conn.send(json.dumps({"event": "unsubscribe", "arg": arg}))
                continue
            conn.subs.add(key)
            conn.send(json.dumps({"event": "subscribe", "arg": arg}))
            book = self.books.get(inst)
            if channel == "books" and book is not None:
                self._send_books(conn, "snapshot", kind, inst_id, book.bids, book.asks, 0, book.ts_ns)

    @staticmethod
    def _send_books(conn: SimConnection, action: str, kind: str, inst_id: str, bids: Levels, asks: Levels, cs: int, ts_ns: int) -> None:
        ms = ts_ns // 1_000_000
        conn.send(json.dumps({"action": action, "arg": {"instType": kind, "channel": "books", "instId": inst_id},
                              "data": [{"asks": _levels(asks), "bids": _levels(bids), "checksum": cs, "ts": str(ms)}], "ts": ms + 1},
                             separators=(",", ":")))

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        inst = book.instrument
        market = market_of(inst)
        inst_id = native_symbol(market, inst)
        kind = inst_type(market, inst_id)
        ms = book.ts_ns // 1_000_000
        top = json.dumps({"action": "snapshot", "arg": {"instType": kind, "channel": "books1", "instId": inst_id},
                          "data": [{"asks": _levels(book.asks[:1]), "bids": _levels(book.bids[:1]), "checksum": 0, "ts": str(ms)}],
                          "ts": ms + 1}, separators=(",", ":"))
        for conn in self.subscribers(f"books1:{inst_id}"):
            if conn.market == market:
                conn.send(top)
        if book.crossed or prev is None:
            return
        cs = checksum_crc32(fmt_levels(book.bids), fmt_levels(book.asks))
        if inst in self.faults.bad_checksum:
            self.faults.bad_checksum.discard(inst)
            cs += 1
        bids, asks = diff_levels(prev.bids, book.bids), diff_levels(prev.asks, book.asks)
        for conn in self.subscribers(f"books:{inst_id}"):
            if conn.market == market:
                self._send_books(conn, "update", kind, inst_id, bids, asks, cs, book.ts_ns)

    def on_funding(self, funding: SimFunding) -> None:
        inst = funding.instrument
        inst_id = native_symbol("perp", inst)
        book = self.books.get(inst)
        if book is None:
            return
        (bp, bs), (ap, as_) = book.bids[0], book.asks[0]
        ms = funding.ts_ns // 1_000_000
        msg = json.dumps({"action": "snapshot", "arg": {"instType": inst_type("perp", inst_id), "channel": "ticker", "instId": inst_id},
                          "data": [{"instId": inst_id, "lastPr": fmt(bp), "bidPr": fmt(bp), "askPr": fmt(ap), "bidSz": fmt(bs),
                                    "askSz": fmt(as_), "fundingRate": f"{funding.rate:.8f}",
                                    "nextFundingTime": str(funding.next_funding_ts_ns // 1_000_000),
                                    "markPrice": fmt((bp + ap) / 2), "ts": str(ms)}], "ts": ms + 1}, separators=(",", ":"))
        for conn in self.subscribers(f"ticker:{inst_id}"):
            if conn.market == "perp":
                conn.send(msg)


SERVER = BitgetSim
