"""Simulated Paradex: public channels in binary SBE, the JSON-RPC control plane, and the REST listing.

What it speaks (``venues/paradex.py`` reads it; ``/perp`` first on every path):

- WebSocket ``/v1?sbeSchemaId=1&sbeSchemaVersion=V`` (V 0, 1 or 2, as the venue negotiates).
  A connection without SBE parameters or with another schema is refused at the upgrade with
  HTTP 400, as the venue does since 21 Sep 2026 (no JSON fallback); picows answers the upgrade
  itself (``WSUpgradeResponse.create_error_response``). More than 20 connections within one
  second get HTTP 429 (the venue's public limit is 20/s or 600/min per IP; how it refuses is not
  documented, 429 is the HTTP word for it).
- JSON-RPC ``subscribe`` / ``unsubscribe`` text frames, answered with ``{"result":{"channel":…}}``
  or an error: an unknown channel (``-32600 invalid subscribe request`` / ``invalid channel``, the
  venue's real reply), a second subscription to the same channel (the docs: "will return an
  error"), a suffix on a deltas channel (the SBE socket's ``no parameters expected for deltas
  topic.``).
- Channel data as binary SBE frames of the negotiated version (``paradex_sbe.encode``):
  ``bbo.{m}`` BboEvent on every change; ``order_book.{m}.deltas`` a BookEvent snapshot of the whole
  book on subscribe, then deltas whose ``seq`` is the previous plus one (size 0 deletes);
  ``markets_summary.{m}`` MarketSummaryEvent (v0 blocks of 216 bytes, v1 of 240 with the Rate12
  ``fundingRatePrecise``); ``funding_data.{m}`` FundingDataEvent with the listing's funding
  period; a HeartbeatEvent on a connection idle for 20 s. Sizes are base units, as on the venue.
  The server pings every 55 s.
- REST ``GET /v1/markets[?market=M]`` and ``GET /v1/markets/summary?market=ALL|M`` in the venue's
  format (decimal strings, ``funding_period_hours`` a number, times in ms). A listing that is not
  trading is served as the venue shows it — halted: ``trading_mode`` ``CANCEL_ONLY``; prelaunch:
  ``open_at`` in the future; delisted: ``expiry_at`` in the past — and gets no channel data.
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
import time
import zlib
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import picows

from arbsniper.instruments import parse_instrument
from arbsniper.sim.server import SimConnection, SimVenueServer, diff_levels, fmt, writable
from arbsniper.sim.synthetic import BASE_PRICES, Listing, SimBook, SimFunding
from arbsniper.venues import paradex_sbe as sbe
from arbsniper.venues.metadata import DELISTED, HALTED, PRELAUNCH, TRADING
from arbsniper.venues.paradex import native_symbol

Levels = list[tuple[float, float]]
VERSIONS = ("0", "1", "2")  # schema 1 versions the venue negotiates (paradex_1_0.xml)
MAX_CONNECTS_PER_S = 20
HEARTBEAT_S = 20.0  # the schema: "Server sends every 20s on idle connections"


def listing(instrument: str, price: float, funding_interval_hours: float = 8.0, status: str = "trading") -> Listing:
    """A Paradex perpetual at ``price`` with the venue's kind of metadata.

    Paradex sizes are base units (contract size 1). Increments follow the venue's pattern (BTC
    0.00001, ETH 0.0001, a coin near 0.1 whole units): one size step is worth about $1-10, and
    the tick about 0.1 bp of the price (ETH 0.01 in the venue's own example); minimum notional
    $10. The funding period is the listing's (``funding_period_hours``: 8 on most markets).
    """
    inst = parse_instrument(instrument)
    if not (inst.is_perp and inst.quote == "USD" and inst.settle == "USDC"):
        raise ValueError(f"paradex lists USD-quoted perpetuals settled in USDC, not {instrument}")
    lot = _lot(price)
    return Listing("paradex", instrument, contract_size=1.0, lot_size=lot, tick=_tick(price), min_size=lot,
                   min_notional=10.0, funding_interval_hours=funding_interval_hours, status=status)


def _lot(price: float) -> float:
    return float(f"1e{-math.ceil(math.log10(price))}") if price > 0 else 1.0


def _tick(price: float) -> float:
    return float(f"1e{math.floor(math.log10(price)) - 5}") if price > 0 else 0.01


def _m(x: float) -> int:
    return sbe.mantissa(x)


def _send_binary(conn: SimConnection, data: bytes) -> None:
    """``SimConnection.send`` for a binary frame (same silent / delay faults)."""
    t = conn.transport
    if t is None or not writable(t):
        return
    server = conn.server
    if server.faults.silent:
        return
    server.frames_sent += 1
    conn.state["sent"] = time.monotonic()
    if server.faults.delay_s > 0:
        asyncio.get_running_loop().call_later(server.faults.delay_s, _send_binary_now, t, data)
    else:
        t.send(picows.WSMsgType.BINARY, data)


def _send_binary_now(t: picows.WSTransport, data: bytes) -> None:
    if writable(t):
        t.send(picows.WSMsgType.BINARY, data)


class ParadexSim(SimVenueServer):
    venue = "paradex"
    markets = ("perp",)
    server_ping_interval_s = 55.0
    has_pings = False  # the venue pings the client, which never pings: no pong of the venue's to mute
    timer_interval_s = HEARTBEAT_S  # the SBE HeartbeatEvent on idle connections

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.by_native: dict[str, Listing] = {native_symbol(lst.instrument): lst for lst in self.listings}
        self.native = {m: lst.instrument for m, lst in self.by_native.items()}
        self.live = {lst.instrument for lst in self.listings if lst.status == TRADING}  # what gets channel data
        self.seq: dict[str, int] = {lst.instrument: 14_000_000 for lst in self.listings}
        self.refused_upgrades: list[int] = []  # HTTP status of each refused connection attempt
        self._connects: collections.deque[float] = collections.deque()
        self._heartbeats = 0
        self._opened_ms = int(time.time() * 1000) - 90 * 24 * 3600 * 1000  # when the markets "opened"

    # ---- connect: SBE negotiated in the URL ------------------------------------------------

    def _factory(self, request: picows.WSUpgradeRequest) -> picows.WSListener | picows.WSUpgradeResponseWithListener | None:
        query = parse_qs(urlsplit(request.path.decode()).query)
        now = time.monotonic()
        while self._connects and now - self._connects[0] > 1.0:
            self._connects.popleft()
        if len(self._connects) >= MAX_CONNECTS_PER_S:
            return self._refuse(HTTPStatus.TOO_MANY_REQUESTS, "too many connections")
        self._connects.append(now)
        if query.get("sbeSchemaId") != [str(sbe.SCHEMA_ID)] or len(query.get("sbeSchemaVersion", [])) != 1 \
                or query["sbeSchemaVersion"][0] not in VERSIONS:
            return self._refuse(HTTPStatus.BAD_REQUEST, "unsupported SBE schema: public channels need sbeSchemaId=1&sbeSchemaVersion=0..2")
        return super()._factory(request)

    def _refuse(self, status: HTTPStatus, message: str) -> picows.WSUpgradeResponseWithListener:
        self.refused_upgrades.append(int(status))
        body = json.dumps({"error": status.phrase.upper().replace(" ", "_"), "message": message}).encode()
        response = picows.WSUpgradeResponse.create_error_response(status, body)
        return picows.WSUpgradeResponseWithListener(response, None)

    def on_connect(self, conn: SimConnection) -> None:
        if conn.path != "/v1":
            conn.close(1008, "bad path")
            return
        conn.state["version"] = int(conn.query["sbeSchemaVersion"][0])
        conn.state["sent"] = time.monotonic()

    # ---- control plane (JSON) --------------------------------------------------------------

    @staticmethod
    def _reply(conn: SimConnection, rid: object, result: dict[str, object] | None = None, error: dict[str, object] | None = None) -> None:
        body: dict[str, object] = {"jsonrpc": "2.0", "id": rid}
        if error is not None:
            body["error"] = error
        else:
            body["result"] = result
        conn.send(json.dumps(body))

    @staticmethod
    def _market_of(channel: str) -> tuple[str | None, str]:
        """(market, error detail): the market a public channel names."""
        parts = channel.split(".")
        if len(parts) == 2 and parts[0] in ("bbo", "markets_summary", "funding_data"):
            return parts[1], ""
        if len(parts) == 3 and parts[0] == "order_book":
            if parts[2] == "deltas":
                return parts[1], ""
            if parts[2].startswith("deltas@"):
                return None, "no parameters expected for deltas topic."
        return None, "invalid channel"

    def on_message(self, conn: SimConnection, text: str) -> None:
        try:
            req = json.loads(text)
            method, rid, channel = req["method"], req.get("id"), req["params"]["channel"]
        except (ValueError, KeyError, TypeError):
            self._reply(conn, None, error={"code": -32700, "message": "parse error"})
            return
        if method not in ("subscribe", "unsubscribe"):
            self._reply(conn, rid, error={"code": -32601, "message": "method does not exist"})
            return
        market, detail = self._market_of(channel)
        if market not in self.native:
            self._reply(conn, rid, error={"code": -32600, "message": "invalid subscribe request", "data": detail or "invalid channel"})
            return
        if method == "unsubscribe":
            if channel not in conn.subs:
                self._reply(conn, rid, error={"code": -32600, "message": "invalid unsubscribe request", "data": "not subscribed"})
                return
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
        if channel.startswith("order_book.") and book is not None and inst in self.live:
            _send_binary(conn, self._book_frame(book, market, self.seq[inst], sbe.SNAPSHOT, book.bids, book.asks, conn))

    # ---- channel data (SBE) ----------------------------------------------------------------

    def on_timer(self) -> None:
        """A ``HeartbeatEvent`` on every connection that sent nothing for ``HEARTBEAT_S``."""
        now = time.monotonic()
        self._heartbeats += 1
        for conn in list(self.connections):
            last = conn.state.get("sent", 0.0)
            if isinstance(last, float) and now - last >= HEARTBEAT_S * 0.99:
                _send_binary(conn, sbe.encode(sbe.HEARTBEAT, {"ts": time.time_ns() // 1000, "seq": self._heartbeats},
                                              self._version(conn)))

    @staticmethod
    def _version(conn: SimConnection) -> int:
        version = conn.state.get("version", sbe.SCHEMA_VERSION)
        return version if isinstance(version, int) else sbe.SCHEMA_VERSION

    @staticmethod
    def _book_frame(book: SimBook, market: str, seq: int, pkg: int, bids: Levels, asks: Levels, conn: SimConnection) -> bytes:
        values = {"ts": book.ts_ns // 1000, "seq": seq, "pkgType": pkg}
        return sbe.encode(sbe.BOOK, values, ParadexSim._version(conn),
                          groups=([(_m(p), _m(s)) for p, s in bids], [(_m(p), _m(s)) for p, s in asks]),
                          data=(market.encode(),))

    def _push(self, channel: str, build: Callable[[int], bytes]) -> None:
        """Send ``build(version)`` to every subscriber of ``channel``, encoded once per negotiated version."""
        frames: dict[int, bytes] = {}
        for conn in self.subscribers(channel):
            version = self._version(conn)
            frame = frames.get(version)
            if frame is None:
                frame = frames[version] = build(version)
            _send_binary(conn, frame)

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        inst = book.instrument
        if inst not in self.live:
            return  # halted, not open or delisted: the venue publishes nothing
        market = native_symbol(inst)
        if prev is not None and not book.crossed:
            seq = self.seq[inst] + 1
            if inst in self.faults.skip_seq:
                self.faults.skip_seq.discard(inst)
                seq += 5  # five updates the client never sees
            self.seq[inst] = seq
            bids, asks = diff_levels(prev.bids, book.bids), diff_levels(prev.asks, book.asks)
            values = {"ts": book.ts_ns // 1000, "seq": seq, "pkgType": sbe.DELTA}
            groups = ([(_m(p), _m(s)) for p, s in bids], [(_m(p), _m(s)) for p, s in asks])
            self._push(f"order_book.{market}.deltas",
                       lambda v: sbe.encode(sbe.BOOK, values, v, groups=groups, data=(market.encode(),)))
        (bp, bs), (ap, as_) = book.bids[0], book.asks[0]
        bbo = {"ts": book.ts_ns // 1000, "seq": self.seq[inst], "bidPrice": _m(bp), "bidSize": _m(bs),
               "askPrice": _m(ap), "askSize": _m(as_)}
        self._push(f"bbo.{market}", lambda v: sbe.encode(sbe.BBO, bbo, v, data=(market.encode(),)))

    def on_funding(self, funding: SimFunding) -> None:
        inst = funding.instrument
        book = self.books.get(inst)
        if book is None or inst not in self.live:
            return
        market = native_symbol(inst)
        lst = self.by_native[market]
        (bp, bs), (ap, as_) = book.bids[0], book.asks[0]
        mid = (bp + ap) / 2
        ts = funding.ts_ns // 1000
        summary = {
            "ts": ts, "seq": self.seq[inst], "markPrice": _m(mid), "indexPrice": _m(mid), "lastPrice": _m(mid),
            "volumeUsd24h": _m(self._volume(inst)), "openInterest": _m(100.0), "fundingRate": _m(funding.rate),
            "bid": _m(bp), "ask": _m(ap), "totalVolume": _m(1e9), "priceChangeRate24h": 0, "bidSize": _m(bs), "askSize": _m(as_),
            "fundingRatePrecise": round(funding.rate * sbe.SCALE_12),
        }
        self._push(f"markets_summary.{market}",
                   lambda v: sbe.encode(sbe.MARKET_SUMMARY, summary, v, data=(market.encode(),)))
        period = {"ts": ts, "seq": self.seq[inst], "fundingRate": _m(funding.rate), "fundingIndex": 0, "createdAt": ts,
                  "fundingPremium": 0, "fundingRate8h": _m(funding.rate * 8.0 / lst.funding_interval_hours),
                  "fundingPeriodHours": round(lst.funding_interval_hours)}
        self._push(f"funding_data.{market}",
                   lambda v: sbe.encode(sbe.FUNDING_DATA, period, v, data=(market.encode(),)))

    # ---- REST: the listing and the 24 h summary ------------------------------------------------

    def _price(self, inst: str) -> float:
        book = self.books.get(inst)
        if book is not None:
            return (book.bids[0][0] + book.asks[0][0]) / 2
        return BASE_PRICES.get(parse_instrument(inst).base, 100.0)

    @staticmethod
    def _volume(inst: str) -> float:
        """A 24 h USD volume, stable per base (so venues rank a base alike)."""
        base = parse_instrument(inst).base
        return 1e6 * (1 + zlib.crc32(base.encode()) % 500) * (20.0 if base in ("BTC", "ETH") else 1.0)

    def _market_json(self, market: str, lst: Listing) -> dict[str, object]:
        inst = parse_instrument(lst.instrument)
        price = self._price(lst.instrument)
        lot = lst.lot_size or _lot(price)
        now_ms = int(time.time() * 1000)
        open_at, expiry_at, mode = self._opened_ms, 0, "STANDARD"
        if lst.status == HALTED:
            mode = "CANCEL_ONLY"
        elif lst.status == PRELAUNCH:
            open_at = now_ms + 7 * 24 * 3600 * 1000
        elif lst.status == DELISTED:
            expiry_at = now_ms - 3600 * 1000
        return {
            "symbol": market, "base_currency": market.split("-")[0], "quote_currency": inst.quote,
            "settlement_currency": inst.settle, "asset_kind": "PERP", "market_kind": "cross",
            "order_size_increment": fmt(lot), "price_tick_size": fmt(lst.tick or _tick(price)),
            "min_notional": fmt(lst.min_notional or 10.0), "open_at": open_at, "expiry_at": expiry_at,
            "funding_period_hours": lst.funding_interval_hours, "funding_multiplier": 1, "max_funding_rate": "0.05",
            "max_open_orders": 100, "max_order_size": fmt(lot * 1e7), "position_limit": fmt(lot * 2e7),
            "price_bands_width": "0.05", "max_slippage": "0.05", "max_tob_spread": "0.2", "interest_rate": "0.01",
            "clamp_rate": "0.05", "trading_mode": mode, "tags": [],
        }

    def _summary_json(self, market: str, lst: Listing) -> dict[str, object]:
        inst = lst.instrument
        book = self.books.get(inst)
        mid = self._price(inst)
        funding = self.fundings.get(inst)
        row: dict[str, object] = {
            "symbol": market, "oracle_price": fmt(mid), "mark_price": fmt(mid), "last_traded_price": fmt(mid),
            "underlying_price": fmt(mid), "volume_24h": fmt(self._volume(inst) if lst.status == TRADING else 0.0),
            "total_volume": fmt(1e9), "open_interest": "100", "funding_rate": f"{funding.rate:.10f}" if funding else "0",
            "price_change_rate_24h": "0", "created_at": int(time.time() * 1000),
        }
        if book is not None and lst.status == TRADING:
            row.update(bid=fmt(book.bids[0][0]), bid_size=fmt(book.bids[0][1]), ask=fmt(book.asks[0][0]), ask_size=fmt(book.asks[0][1]))
        return row

    def rest(self, method: str, market: str, path: str, query: dict[str, list[str]], body: bytes = b"") -> tuple[int, str]:
        wanted = (query.get("market") or [""])[0]
        if method != "GET" or path not in ("/v1/markets", "/v1/markets/summary"):
            return 404, json.dumps({"error": "NOT_FOUND", "message": f"no route {method} {path}"})
        if path == "/v1/markets/summary" and not wanted:
            return 400, json.dumps({"error": "VALIDATION_ERROR", "message": "market is required (a symbol or ALL)"})
        rows = [(m, lst) for m, lst in sorted(self.by_native.items()) if wanted in ("", "ALL", m)]
        if wanted not in ("", "ALL") and not rows:
            return 400, json.dumps({"error": "MARKET_NOT_FOUND", "message": f"market {wanted} not found"})
        render = self._market_json if path == "/v1/markets" else self._summary_json
        return 200, json.dumps({"results": [render(m, lst) for m, lst in rows]})


SERVER = ParadexSim
