"""Simulated KuCoin spot + futures: bullet-public tokens, welcome/ack/pong, ticker, level-2, snapshots, funding.

Speaks what ``venues/kucoin/`` reads:
- ``POST /api/v1/bullet-public`` issues a token and names this server as the endpoint; a
  WebSocket without a valid ``token`` gets ``{"type":"error","code":401}`` and is closed, a good one
  ``{"id":<connectId>,"type":"welcome"}``;
- ``{"type":"ping"}`` → ``{"type":"pong"}``; subscribe/unsubscribe with ``response`` → ``ack``;
- spot ``/market/ticker`` and ``/market/level2`` (each level change takes the next number of one
  sequence per symbol; ``sequenceStart``/``sequenceEnd`` span a message), REST
  ``/api/v1/market/orderbook/level2_100`` whose ``sequence`` is that counter;
- futures ``/contractMarket/tickerV2`` (ns ``ts``), ``/contractMarket/level2`` (one change per
  message, ``sequence`` + 1 each), REST ``/api/v1/level2/snapshot``, ``/contract/instrument``
  ``funding.rate``. Futures sizes are whole contracts, so the server rounds each synthetic book to
  whole contracts before publishing it: that rounded book is the venue's reference book.

The bullet is a POST, which the WebSocket server's plain-HTTP path does not take, so this server
answers REST on the server's REST port (``rest_url`` points there).
"""

from __future__ import annotations

import json

from arbsniper.sim.server import SimConnection, SimVenueServer, diff_levels, fmt, market_of
from arbsniper.sim.synthetic import SimBook, SimFunding
from arbsniper.venues.kucoin import futures, spot
from arbsniper.venues.kucoin.common import contracts_to_base
from arbsniper.venues.kucoin.futures import CONTRACT_MULTIPLIERS

SPOT_TOPICS = ("/market/ticker", "/market/level2")
PERP_TOPICS = ("/contractMarket/tickerV2", "/contractMarket/level2", "/contract/instrument")
PING_INTERVAL_MS = 18_000
PING_TIMEOUT_MS = 10_000

Levels = list[tuple[float, float]]


def native_symbol(instrument: str) -> str:
    """The venue's symbol of a spot or perpetual instrument."""
    return (futures.native_symbol if market_of(instrument) == "perp" else spot.native_symbol)(instrument)


def _per_base(native: str) -> int:
    return round(1.0 / CONTRACT_MULTIPLIERS[native])


class KuCoinSim(SimVenueServer):
    venue = "kucoin"
    markets = ("spot", "perp")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.native = {native_symbol(lst.instrument): lst.instrument for lst in self.listings}
        self.sym = {inst: native for native, inst in self.native.items()}
        self.seq: dict[str, int] = {lst.instrument: 1_000_000 for lst in self.listings}
        self.tokens: set[str] = set()
        self.tokens_used: list[str] = []  # the token of each WebSocket connection, in order
        self.ping_interval_ms = PING_INTERVAL_MS  # what bullet-public tells clients

    # ---- handshake and control -------------------------------------------------------------

    def rest(self, method: str, market: str, path: str, query: dict[str, list[str]], body: bytes = b"") -> tuple[int, str]:
        if path == "/api/v1/bullet-public":
            if method != "POST":
                return 405, '{"code":"400000","msg":"POST only"}'
            token = f"sim-{market}-{len(self.tokens) + 1}"
            self.tokens.add(token)
            server = {"endpoint": f"ws://{self.host}:{self.port}/{market}/", "encrypt": False, "protocol": "websocket",
                      "pingInterval": self.ping_interval_ms, "pingTimeout": PING_TIMEOUT_MS}
            return 200, json.dumps({"code": "200000", "data": {"token": token, "instanceServers": [server]}})
        want = "/api/v1/market/orderbook/level2_100" if market == "spot" else "/api/v1/level2/snapshot"
        if path != want:
            return 404, '{"code":"404000","msg":"Not Found"}'
        native = query.get("symbol", [""])[0]
        inst = self.native.get(native)
        book = self.books.get(inst) if inst is not None else None
        if inst is None or book is None or market_of(inst) != market:
            return 400, '{"code":"400100","msg":"symbol not exists"}'
        if market == "spot":
            data: dict[str, object] = {"time": book.ts_ns // 1_000_000, "sequence": str(self.seq[inst]),
                                       "bids": [[fmt(p), fmt(s)] for p, s in book.bids],
                                       "asks": [[fmt(p), fmt(s)] for p, s in book.asks]}
        else:
            per = _per_base(native)
            data = {"symbol": native, "sequence": self.seq[inst], "ts": book.ts_ns,
                    "bids": [[p, round(s * per)] for p, s in book.bids], "asks": [[p, round(s * per)] for p, s in book.asks]}
        return 200, json.dumps({"code": "200000", "data": data})

    def on_connect(self, conn: SimConnection) -> None:
        token = conn.query.get("token", [""])[0]
        connect_id = conn.query.get("connectId", ["sim"])[0]
        self.tokens_used.append(token)
        if token not in self.tokens:
            conn.send(json.dumps({"id": connect_id, "type": "error", "code": 401, "data": "token is invalid"}))
            conn.close(1008, "token is invalid")
            return
        conn.send(json.dumps({"id": connect_id, "type": "welcome"}))

    def on_message(self, conn: SimConnection, text: str) -> None:
        try:
            req = json.loads(text)
            kind, rid = req["type"], req.get("id")
        except (ValueError, KeyError, TypeError):
            conn.send(json.dumps({"id": "", "type": "error", "code": 400, "data": "bad request"}))
            return
        if kind == "ping":
            if not self.faults.mute_pongs:
                conn.send(json.dumps({"id": str(rid), "type": "pong"}))
            return
        if kind not in ("subscribe", "unsubscribe"):
            conn.send(json.dumps({"id": str(rid), "type": "error", "code": 400, "data": f"unknown type {kind}"}))
            return
        prefix, _, symbols = str(req.get("topic", "")).partition(":")
        allowed = SPOT_TOPICS if conn.market == "spot" else PERP_TOPICS
        natives = symbols.split(",")
        if prefix not in allowed or not all(self.native.get(n) in self.sym and market_of(self.native[n]) == conn.market for n in natives):
            conn.send(json.dumps({"id": str(rid), "type": "error", "code": 404, "data": f"topic {req.get('topic')} is not found"}))
            return
        for n in natives:
            if kind == "subscribe":
                conn.subs.add(f"{prefix}:{n}")
            else:
                conn.subs.discard(f"{prefix}:{n}")
        if req.get("response"):
            conn.send(json.dumps({"id": str(rid), "type": "ack"}))

    # ---- market data ---------------------------------------------------------------------

    def publish(self, update: SimBook | SimFunding) -> None:
        if isinstance(update, SimBook) and market_of(update.instrument) == "perp":
            # The venue's book holds whole contracts; this is the book it shows.
            mult = CONTRACT_MULTIPLIERS[self.sym[update.instrument]]

            def whole(levels: Levels) -> Levels:
                return [(p, contracts_to_base(max(1, round(s / mult)), mult)) for p, s in levels]

            update = SimBook(update.venue, update.instrument, update.ts_ns, whole(update.bids), whole(update.asks), update.crossed)
        super().publish(update)

    def _send(self, key: str, topic: str, subject: str, data: dict[str, object]) -> None:
        conns = self.subscribers(key)
        if conns:
            text = json.dumps({"type": "message", "topic": topic, "subject": subject, "data": data}, separators=(",", ":"))
            for conn in conns:
                conn.send(text)

    def _next_seq(self, inst: str, n: int) -> int:
        """First number of ``n`` new sequence numbers (five skipped when a gap is injected)."""
        first = self.seq[inst] + 1
        if inst in self.faults.skip_seq:
            self.faults.skip_seq.discard(inst)
            first += 5
        self.seq[inst] = first + n - 1
        return first

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        inst = book.instrument
        native = self.sym[inst]
        ms = book.ts_ns // 1_000_000
        (bp, bs), (ap, as_) = book.bids[0], book.asks[0]
        if market_of(inst) == "spot":
            if prev is not None and not book.crossed:
                bids, asks = diff_levels(prev.bids, book.bids), diff_levels(prev.asks, book.asks)
                n = len(bids) + len(asks)
                if n:
                    first = self._next_seq(inst, n)
                    seqs = iter(range(first, first + n))
                    changes = {"asks": [[fmt(p), fmt(s), str(next(seqs))] for p, s in asks],
                               "bids": [[fmt(p), fmt(s), str(next(seqs))] for p, s in bids]}
                    self._send(f"/market/level2:{native}", f"/market/level2:{native}", "trade.l2update", {
                        "changes": changes, "sequenceEnd": first + n - 1, "sequenceStart": first, "symbol": native, "time": ms})
            self._send(f"/market/ticker:{native}", f"/market/ticker:{native}", "trade.ticker", {
                "bestAsk": fmt(ap), "bestAskSize": fmt(as_), "bestBid": fmt(bp), "bestBidSize": fmt(bs),
                "price": fmt(bp), "sequence": str(self.seq[inst]), "size": "0.001", "time": ms})
            return
        per = _per_base(native)
        if prev is not None and not book.crossed:
            level_changes = [(p, s, "buy") for p, s in diff_levels(prev.bids, book.bids)] + [
                (p, s, "sell") for p, s in diff_levels(prev.asks, book.asks)]
            # One change per message, so every intermediate book is visible: removals go first,
            # then every book on the way holds only levels of the new (uncrossed) book.
            level_changes.sort(key=lambda c: c[1] != 0.0)
            key = f"/contractMarket/level2:{native}"
            for p, s, side in level_changes:
                seq = self._next_seq(inst, 1)
                self._send(key, key, "level2", {"sequence": seq, "change": f"{fmt(p)},{side},{round(s * per)}", "timestamp": ms})
        self._send(f"/contractMarket/tickerV2:{native}", f"/contractMarket/tickerV2:{native}", "tickerV2", {
            "symbol": native, "sequence": self.seq[inst], "bestBidSize": round(bs * per), "bestBidPrice": fmt(bp),
            "bestAskPrice": fmt(ap), "bestAskSize": round(as_ * per), "ts": book.ts_ns})

    def on_funding(self, funding: SimFunding) -> None:
        native = self.sym[funding.instrument]
        key = f"/contract/instrument:{native}"
        self._send(key, key, "funding.rate", {"granularity": int(funding.interval_hours * 3_600_000),
                                              "fundingRate": round(funding.rate, 10), "timestamp": funding.ts_ns // 1_000_000})


SERVER = KuCoinSim
