"""Simulated OKX v5 public endpoint: per-arg acks, text ping/pong, bbo-tbt, books (seqId + CRC32), funding-rate."""

from __future__ import annotations

import json

from arbsniper.sim.server import SimConnection, SimVenueServer, diff_levels, fmt, fmt_levels
from arbsniper.sim.synthetic import SimBook, SimFunding
from arbsniper.venues.book import checksum_crc32
from arbsniper.venues.okx import native_symbol

CHANNELS = ("bbo-tbt", "books", "funding-rate", "tickers")


def _levels(levels: list[tuple[float, float]]) -> list[list[str]]:
    return [[fmt(p), fmt(s), "0", "1"] for p, s in levels]


class OkxSim(SimVenueServer):
    venue = "okx"
    markets = ("spot", "perp")
    has_checksum = True

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.native = {native_symbol(lst.instrument): lst.instrument for lst in self.listings}
        self.seq: dict[str, int] = {lst.instrument: 10_000 for lst in self.listings}

    def on_message(self, conn: SimConnection, text: str) -> None:
        if text == "ping":
            if not self.faults.mute_pongs:
                conn.send("pong")
            return
        try:
            req = json.loads(text)
            op, args = req["op"], req["args"]
        except (ValueError, KeyError, TypeError):
            conn.send('{"event":"error","code":"60012","msg":"Invalid request","connId":"sim"}')
            return
        for arg in args:
            channel, inst_id = arg.get("channel"), arg.get("instId")
            if channel not in CHANNELS or inst_id not in self.native:
                conn.send(json.dumps({"event": "error", "code": "60018", "msg": f"Wrong URL or channel:{channel},instId:{inst_id} doesn't exist", "connId": "sim"}))
                continue
            key = f"{channel}:{inst_id}"
            if op == "subscribe":
                conn.subs.add(key)
                conn.send(json.dumps({"event": "subscribe", "arg": arg, "connId": "sim"}))
                book = self.books.get(self.native[inst_id])
                if channel == "books" and book is not None:
                    self._send_books(conn, inst_id, "snapshot", book.bids, book.asks, book, -1)
            elif op == "unsubscribe":
                conn.subs.discard(key)
                conn.send(json.dumps({"event": "unsubscribe", "arg": arg, "connId": "sim"}))

    def _send_books(self, conn: SimConnection, inst_id: str, action: str, bids: list[tuple[float, float]],
                    asks: list[tuple[float, float]], book: SimBook, prev_seq: int, bad_checksum: bool = False) -> None:
        inst = self.native[inst_id]
        cs = checksum_crc32(fmt_levels(book.bids), fmt_levels(book.asks)) + (1 if bad_checksum else 0)
        data = {"asks": _levels(asks), "bids": _levels(bids), "ts": str(book.ts_ns // 1_000_000), "checksum": cs,
                "prevSeqId": prev_seq, "seqId": self.seq[inst]}
        conn.send(json.dumps({"arg": {"channel": "books", "instId": inst_id}, "action": action, "data": [data]}, separators=(",", ":")))

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        inst = book.instrument
        inst_id = native_symbol(inst)
        ms = str(book.ts_ns // 1_000_000)
        bbo = json.dumps({"arg": {"channel": "bbo-tbt", "instId": inst_id}, "data": [{
            "asks": _levels(book.asks[:1]), "bids": _levels(book.bids[:1]), "ts": ms, "seqId": self.seq[inst]}]}, separators=(",", ":"))
        for conn in self.subscribers(f"bbo-tbt:{inst_id}"):
            conn.send(bbo)
        if book.crossed or prev is None:
            return
        prev_seq = self.seq[inst]
        self.seq[inst] = prev_seq + 1
        if inst in self.faults.skip_seq:
            self.faults.skip_seq.discard(inst)
            prev_seq += 5  # an update the client never saw
        bad = inst in self.faults.bad_checksum
        self.faults.bad_checksum.discard(inst)
        bids, asks = diff_levels(prev.bids, book.bids), diff_levels(prev.asks, book.asks)
        for conn in self.subscribers(f"books:{inst_id}"):
            self._send_books(conn, inst_id, "update", bids, asks, book, prev_seq, bad)

    def on_funding(self, funding: SimFunding) -> None:
        inst_id = native_symbol(funding.instrument)
        nxt = funding.next_funding_ts_ns // 1_000_000
        msg = json.dumps({"arg": {"channel": "funding-rate", "instId": inst_id}, "data": [{
            "instId": inst_id, "instType": "SWAP", "method": "current_period", "fundingRate": f"{funding.rate:.10f}",
            "nextFundingRate": "", "fundingTime": str(nxt), "nextFundingTime": str(nxt + int(funding.interval_hours * 3_600_000)),
            "ts": str(funding.ts_ns // 1_000_000)}]}, separators=(",", ":"))
        for conn in self.subscribers(f"funding-rate:{inst_id}"):
            conn.send(msg)


SERVER = OkxSim
