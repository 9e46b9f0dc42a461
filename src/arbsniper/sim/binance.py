"""Simulated Binance spot + USD-M: combined streams, SUBSCRIBE acks, server pings, REST depth.

Speaks what ``venues/binance.py`` reads: ``/stream`` (wrapped events) or ``/ws`` (raw events),
streams in the URL (``?streams=a/b``) or by ``SUBSCRIBE``; ``<sym>@bookTicker``,
``<sym>@depth[@100ms]`` with ``U``/``u`` (+ ``pu`` on USD-M) drawn from one update-id counter per
symbol, ``<sym>@markPrice[@1s]`` on USD-M; REST ``/api/v3/depth`` and ``/fapi/v1/depth``
snapshots whose ``lastUpdateId`` is that counter.
"""

from __future__ import annotations

import json

from arbsniper.sim.server import SimConnection, SimVenueServer, diff_levels, fmt, market_of
from arbsniper.sim.synthetic import SimBook, SimFunding
from arbsniper.venues.binance import native_symbol


class BinanceSim(SimVenueServer):
    venue = "binance"
    markets = ("spot", "perp")
    server_ping_interval_s = 20.0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.update_id: dict[str, int] = {}  # instrument -> last update id
        for lst in self.listings:
            self.update_id[lst.instrument] = 1_000_000

    # ---- connection and control ------------------------------------------------------------

    def on_connect(self, conn: SimConnection) -> None:
        conn.state["combined"] = conn.path.startswith("/stream")
        for s in conn.query.get("streams", [""])[0].split("/"):
            if s:
                conn.subs.add(s)
        if conn.path.startswith("/ws/"):
            conn.subs.add(conn.path[4:])

    def on_message(self, conn: SimConnection, text: str) -> None:
        try:
            req = json.loads(text)
            method, rid = req["method"], req.get("id")
        except (ValueError, KeyError, TypeError):
            conn.send(json.dumps({"code": 2, "msg": "Invalid request: could not parse", "id": None}))
            return
        if method == "SUBSCRIBE":
            conn.subs.update(req.get("params", []))
            conn.send(json.dumps({"result": None, "id": rid}))
        elif method == "UNSUBSCRIBE":
            conn.subs.difference_update(req.get("params", []))
            conn.send(json.dumps({"result": None, "id": rid}))
        elif method == "LIST_SUBSCRIPTIONS":
            conn.send(json.dumps({"result": sorted(conn.subs), "id": rid}))
        else:
            conn.send(json.dumps({"code": 2, "msg": f"Invalid request: unknown method {method}", "id": rid}))

    def rest(self, method: str, market: str, path: str, query: dict[str, list[str]], body: bytes = b"") -> tuple[int, str]:
        if path not in ("/api/v3/depth", "/fapi/v1/depth") or (path == "/fapi/v1/depth") != (market == "perp"):
            return 404, '{"code":-1,"msg":"not found"}'
        sym = query.get("symbol", [""])[0]
        for inst, book in self.books.items():
            if market_of(inst) == market and native_symbol(inst) == sym:
                answer: dict[str, object] = {
                    "lastUpdateId": self.update_id[inst],
                    "bids": [[fmt(p), fmt(s)] for p, s in book.bids],
                    "asks": [[fmt(p), fmt(s)] for p, s in book.asks],
                }
                if market == "perp":
                    ms = book.ts_ns // 1_000_000
                    answer = {"lastUpdateId": answer["lastUpdateId"], "E": ms, "T": ms, "bids": answer["bids"], "asks": answer["asks"]}
                return 200, json.dumps(answer)
        return 400, '{"code":-1121,"msg":"Invalid symbol."}'

    # ---- market data ---------------------------------------------------------------------

    def _send(self, market: str, stream: str, data: dict[str, object]) -> None:
        wrapped: str | None = None
        raw: str | None = None
        for conn in self.connections:
            if conn.market != market or stream not in conn.subs:
                continue
            if conn.state.get("combined"):
                wrapped = wrapped or json.dumps({"stream": stream, "data": data}, separators=(",", ":"))
                conn.send(wrapped)
            else:
                raw = raw or json.dumps(data, separators=(",", ":"))
                conn.send(raw)

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        inst = book.instrument
        market = market_of(inst)
        sym = native_symbol(inst)
        low = sym.lower()
        ms = book.ts_ns // 1_000_000
        last = self.update_id[inst]
        if prev is not None and not book.crossed:
            changes_b = diff_levels(prev.bids, book.bids)
            changes_a = diff_levels(prev.asks, book.asks)
            n = max(1, len(changes_b) + len(changes_a))
            first = last + 1
            if inst in self.faults.skip_seq:
                self.faults.skip_seq.discard(inst)
                first += 5  # five updates the client never sees
            u = first + n - 1
            self.update_id[inst] = u
            depth: dict[str, object] = {"e": "depthUpdate", "E": ms}
            if market == "perp":
                depth["T"] = ms
            depth.update({"s": sym, "U": first, "u": u})
            if market == "perp":
                depth["pu"] = first - 1  # the previous event's u; after a skip, not the client's
            depth["b"] = [[fmt(p), fmt(s)] for p, s in changes_b]
            depth["a"] = [[fmt(p), fmt(s)] for p, s in changes_a]
            for stream in (f"{low}@depth@100ms", f"{low}@depth"):
                self._send(market, stream, depth)
            last = u
        elif prev is None:
            self.update_id[inst] = last = last + 1
        (bp, bs), (ap, as_) = book.bids[0], book.asks[0]
        ticker: dict[str, object] = {"u": last, "s": sym, "b": fmt(bp), "B": fmt(bs), "a": fmt(ap), "A": fmt(as_)}
        if market == "perp":
            ticker = {"e": "bookTicker", **ticker, "T": ms, "E": ms}
        self._send(market, f"{low}@bookTicker", ticker)

    def on_funding(self, funding: SimFunding) -> None:
        sym = native_symbol(funding.instrument)
        low = sym.lower()
        book = self.books.get(funding.instrument)
        mark = (book.bids[0][0] + book.asks[0][0]) / 2 if book else 0.0
        msg = {
            "e": "markPriceUpdate", "E": funding.ts_ns // 1_000_000, "s": sym, "p": fmt(mark), "i": fmt(mark),
            "P": fmt(mark), "r": f"{funding.rate:.8f}", "T": funding.next_funding_ts_ns // 1_000_000,
        }
        for stream in (f"{low}@markPrice@1s", f"{low}@markPrice"):
            self._send("perp", stream, msg)


SERVER = BinanceSim
