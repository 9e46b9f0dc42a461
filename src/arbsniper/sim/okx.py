"""Simulated OKX v5: instruments / funding-rate / tickers REST, per-arg acks, text ping/pong,
bbo-tbt, books (seqId + CRC32), funding-rate; SWAP sizes in CONTRACTS, as OKX sends them.

REST (the real paths, one host for both markets, as on OKX): ``/api/v5/public/instruments``,
``/api/v5/public/funding-rate`` (``instId=ANY`` or one swap), ``/api/v5/market/tickers``; every
value a string, ``""`` where OKX leaves a field empty; ``state`` ``live`` / ``suspend`` /
``preopen`` (a delisted listing is absent, as on OKX).

Units: a SWAP listing's book is kept on its lot grid in contracts (``lotSz`` × ``ctVal``); every
swap size on the wire (``bbo-tbt``, ``books``, ``tickers`` bid/ask sizes, ``lotSz``, ``minSz``) is
a number of contracts, and the CRC32 checksum is taken over those contract strings. The reference
book (``books``) holds the base sizes those contracts mean.

Limits, refused as OKX refuses them (``{"event":"error","code":…,"msg":…,"connId":…}``; the
connection stays open): more than 480 subscribe/unsubscribe requests on one connection within an
hour, or more than 3 within a second → ``60014`` "Requests too frequent."; args longer than 64 KB
in one request → ``60013`` "Invalid args" (OKX documents the limit, not the code it answers
with); an unknown channel or instId → ``60018``. Halted and pre-open listings are served with
their state and acknowledged on subscribe, but send no data (as a suspended OKX instrument).
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from decimal import Decimal

from arbsniper.instruments import parse_instrument
from arbsniper.sim.server import SimConnection, SimVenueServer, diff_levels, fmt
from arbsniper.sim.synthetic import BASE_PRICES, Listing, SimBook, SimFunding
from arbsniper.venues.book import checksum_crc32
from arbsniper.venues.metadata import DELISTED, HALTED, PRELAUNCH, TRADING
from arbsniper.venues.okx import MAX_ARGS_BYTES, REQUESTS_PER_HOUR, native_symbol, size_scale

CHANNELS = ("bbo-tbt", "books", "funding-rate", "tickers")
STATE_WORDS = {TRADING: "live", HALTED: "suspend", PRELAUNCH: "preopen"}  # DELISTED: not listed at all
CONTRACT_SIZES = {"BTC": 0.01, "ETH": 0.1, "SOL": 1.0}  # OKX's ctVal for these; others from the price
LIST_TIME = "1573557408000"

Levels = list[tuple[float, float]]


def _tick(price: float) -> float:
    """About 0.1 bps of the price, a power of ten: the synthetic market's own grid."""
    return float(10 ** math.floor(math.log10(price) - 5))


def _pow10(exponent: int) -> float:
    return float(Decimal(1).scaleb(exponent))


def listing(instrument: str, price: float, funding_interval_hours: float = 8.0, status: str = "trading") -> Listing:
    """An OKX listing of ``instrument`` at reference ``price``, with OKX-like metadata.

    Spot: ``lotSz`` 10^-8 above $10 000 (BTC) else 10^-6, ``minSz`` the power of ten near $1
    (BTC 0.00001, ETH 0.0001, SOL 0.001, as OKX lists them). Swap: ``ctVal`` BTC 0.01, ETH 0.1,
    SOL 1, otherwise the power of ten that makes a contract worth $10–$100; ``lotSz`` = ``minSz``
    0.01 contract when a contract is worth $100 or more, else 1 contract. Ticks are the synthetic
    market's (a power of ten about 0.1 bps of the price). No minimum notional (OKX has none).
    """
    inst = parse_instrument(instrument)
    if price <= 0:
        raise ValueError(f"okx listing {instrument}: price must be positive, got {price}")
    tick = _tick(price)
    if not inst.is_perp:
        lot = 1e-8 if price >= 10_000 else 1e-6
        min_size = _pow10(math.floor(math.log10(1.0 / price)))
        return Listing("okx", instrument, 1.0, lot, tick, max(min_size, lot), 0.0, 0.0, status)
    contract = CONTRACT_SIZES.get(inst.base) or _pow10(math.ceil(math.log10(10.0 / price)))
    lot_contracts = 0.01 if contract * price >= 100.0 else 1.0
    lot = float(Decimal(str(lot_contracts)) * Decimal(str(contract)))
    return Listing("okx", instrument, contract, lot, tick, lot, 0.0, funding_interval_hours, status)


class _Spec:
    """What the server serves of one listing, the defaults filled in."""

    __slots__ = ("listing", "native", "is_perp", "contract", "mul", "div", "lot", "lot_contracts", "tick", "min_size")

    def __init__(self, lst: Listing) -> None:
        inst = parse_instrument(lst.instrument)
        filled = listing(lst.instrument, BASE_PRICES.get(inst.base, 100.0), lst.funding_interval_hours, lst.status)
        if not lst.lot_size:  # a listing without metadata (the pre-metadata demo): OKX's, for its price
            lst = Listing(lst.venue, lst.instrument, filled.contract_size, filled.lot_size, lst.tick or filled.tick,
                          lst.min_size or filled.min_size, lst.min_notional, lst.funding_interval_hours, lst.status)
        self.listing = lst
        self.native = native_symbol(lst.instrument)
        self.is_perp = inst.is_perp
        self.contract = lst.contract_size if self.is_perp else 1.0
        self.mul, self.div = size_scale(self.contract)  # the parser's own base = contracts * mul / div
        self.lot = lst.lot_size
        self.lot_contracts = float(Decimal(fmt(self.lot / self.contract))) if self.is_perp else self.lot
        self.tick = lst.tick or filled.tick
        self.min_size = lst.min_size or self.lot

    def wire(self, base: float) -> str:
        """A base size as OKX writes it: contracts on SWAP."""
        return fmt(base * self.div / self.mul) if self.is_perp else fmt(base)

    def on_grid(self, base: float) -> float:
        """The base size of the whole number of lots (contracts on SWAP) nearest ``base`` (at least one)."""
        lots = max(1, round(base / self.contract / self.lot_contracts))
        contracts = Decimal(lots) * Decimal(fmt(self.lot_contracts))
        return float(contracts) * self.mul / self.div


class OkxSim(SimVenueServer):
    venue = "okx"
    markets = ("spot", "perp")
    has_checksum = True
    max_requests_per_hour = REQUESTS_PER_HOUR
    max_requests_per_s = 3
    max_args_bytes = MAX_ARGS_BYTES

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.specs = {lst.instrument: _Spec(lst) for lst in self.listings if lst.status != DELISTED}
        self.native = {spec.native: inst for inst, spec in self.specs.items()}
        self.inst_id_code = {inst: 10_000 + k for k, inst in enumerate(sorted(self.specs))}
        self.seq: dict[str, int] = {inst: 10_000 for inst in self.specs}

    def _live(self, inst: str) -> bool:
        spec = self.specs.get(inst)
        return spec is not None and spec.listing.status == TRADING

    # ---- REST ---------------------------------------------------------------------------------

    def rest(self, method: str, market: str, path: str, query: dict[str, list[str]], body: bytes = b"") -> tuple[int, str]:
        inst_type = query.get("instType", [""])[0]
        if path == "/api/v5/public/instruments":
            if inst_type not in ("SPOT", "SWAP"):
                return 400, _error("51000", "Parameter instType error")
            return 200, _ok([self._instrument(spec) for spec in self._specs(inst_type)])
        if path == "/api/v5/market/tickers":
            if inst_type not in ("SPOT", "SWAP"):
                return 400, _error("51000", "Parameter instType error")
            return 200, _ok([t for spec in self._specs(inst_type) if (t := self._ticker(spec)) is not None])
        if path == "/api/v5/public/funding-rate":
            inst_id = query.get("instId", [""])[0]
            specs = [s for s in self._specs("SWAP") if inst_id in ("ANY", s.native)]
            if not specs:
                return 400, _error("51001", "Instrument ID does not exist")
            return 200, _ok([self._funding_rest(spec) for spec in specs])
        return 404, _error("404", "Not Found")

    def _specs(self, inst_type: str) -> list[_Spec]:
        return [s for s in self.specs.values() if s.is_perp == (inst_type == "SWAP")]

    def _instrument(self, spec: _Spec) -> dict[str, object]:
        inst = parse_instrument(spec.listing.instrument)
        state = STATE_WORDS.get(spec.listing.status, "suspend")
        if not spec.is_perp:
            return {
                "alias": "", "auctionEndTime": "", "baseCcy": inst.base, "category": "1", "ctMult": "", "ctType": "", "ctVal": "",
                "ctValCcy": "", "expTime": "", "instFamily": "", "instId": spec.native, "instType": "SPOT", "lever": "",
                "listTime": LIST_TIME, "lotSz": fmt(spec.lot), "maxIcebergSz": "9999999999.0000000000000000", "maxLmtAmt": "20000000",
                "maxLmtSz": "9999999999", "maxMktAmt": "1000000", "maxMktSz": "1000000", "maxStopSz": "1000000",
                "maxTriggerSz": "9999999999.0000000000000000", "maxTwapSz": "9999999999.0000000000000000",
                "minSz": fmt(spec.min_size), "optType": "", "quoteCcy": inst.quote, "ruleType": "normal", "settleCcy": "",
                "state": state, "stk": "", "tickSz": fmt(spec.tick), "uly": "",
            }
        family = f"{inst.base}-{inst.quote}"
        return {
            "alias": "", "auctionEndTime": "", "baseCcy": "", "category": "1", "contTdSwTime": "", "ctMult": "1", "ctType": "linear",
            "ctVal": fmt(spec.contract), "ctValCcy": inst.base, "expTime": "", "futureSettlement": False, "instFamily": family,
            "instId": spec.native, "instIdCode": self.inst_id_code[spec.listing.instrument], "instType": "SWAP",
            "lever": "100", "listTime": LIST_TIME, "lotSz": fmt(spec.lot_contracts), "maxIcebergSz": "100000000.0000000000000000",
            "maxLmtAmt": "20000000", "maxLmtSz": "100000000", "maxMktAmt": "", "maxMktSz": "12000", "maxPlatOILmt": "",
            "maxStopSz": "12000", "maxTriggerSz": "100000000.0000000000000000", "maxTwapSz": "100000000.0000000000000000",
            "minSz": spec.wire(spec.min_size), "openType": "", "optType": "", "posLmtAmt": "", "posLmtPct": "", "preMktSwTime": "",
            "quoteCcy": "", "ruleType": "normal", "settleCcy": inst.quote, "state": state, "stk": "", "tickSz": fmt(spec.tick),
            "tradeQuoteCcyList": [], "uly": family,
        }

    def _ticker(self, spec: _Spec) -> dict[str, object] | None:
        book = self.books.get(spec.listing.instrument)
        if book is None:
            return None
        (bp, bs), (ap, as_) = book.bids[0], book.asks[0]
        last = (bp + ap) / 2
        base_volume = 400.0 * sum(s for _, s in book.bids + book.asks)  # a day's turnover, about
        # SPOT: vol24h base, volCcy24h quote; SWAP: vol24h contracts, volCcy24h base (as OKX).
        vol, vol_ccy = (spec.wire(base_volume), fmt(base_volume)) if spec.is_perp else (fmt(base_volume), fmt(base_volume * last))
        ms = str(book.ts_ns // 1_000_000)
        return {
            "instType": "SWAP" if spec.is_perp else "SPOT", "instId": spec.native, "last": fmt(last), "lastSz": spec.wire(spec.lot),
            "askPx": fmt(ap), "askSz": spec.wire(as_), "bidPx": fmt(bp), "bidSz": spec.wire(bs), "open24h": fmt(last),
            "high24h": fmt(ap), "low24h": fmt(bp), "volCcy24h": vol_ccy, "vol24h": vol, "sodUtc0": fmt(last), "sodUtc8": fmt(last),
            "ts": ms,
        }

    def _funding_rest(self, spec: _Spec) -> dict[str, object]:
        inst = spec.listing.instrument
        interval_ms = int(spec.listing.funding_interval_hours * 3_600_000)
        funding = self.fundings.get(inst)
        now_ms = time.time_ns() // 1_000_000
        nxt = (now_ms // interval_ms + 1) * interval_ms
        rate = funding.rate if funding is not None else 0.0001
        return {
            "fundingRate": f"{rate:.16f}", "fundingTime": str(nxt), "instId": spec.native, "instType": "SWAP",
            "maxFundingRate": "0.0075", "method": "current_period", "minFundingRate": "-0.0075", "nextFundingRate": "",
            "nextFundingTime": str(nxt + interval_ms), "settFundingRate": f"{rate:.16f}", "settState": "settled", "ts": str(now_ms),
        }

    # ---- WebSocket ------------------------------------------------------------------------

    def on_message(self, conn: SimConnection, text: str) -> None:
        if text == "ping":
            if not self.faults.mute_pongs:
                conn.send("pong")
            return
        try:
            req = json.loads(text)
            op, args = req["op"], req["args"]
            if not isinstance(args, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            conn.send('{"event":"error","code":"60012","msg":"Invalid request","connId":"sim"}')
            return
        if op in ("subscribe", "unsubscribe"):
            refusal = self._refusal(conn, args)
            if refusal is not None:
                conn.send(refusal)
                return
        for arg in args:
            channel, inst_id = arg.get("channel"), arg.get("instId")
            if channel not in CHANNELS or inst_id not in self.native:
                conn.send(json.dumps({"event": "error", "code": "60018",
                                      "msg": f"Wrong URL or channel:{channel},instId:{inst_id} doesn't exist", "connId": "sim"}))
                continue
            key = f"{channel}:{inst_id}"
            if op == "subscribe":
                conn.subs.add(key)
                conn.send(json.dumps({"event": "subscribe", "arg": arg, "connId": "sim"}))
                inst = self.native[inst_id]
                book = self.books.get(inst)
                if channel == "books" and book is not None and self._live(inst):
                    self._send_books(conn, inst_id, "snapshot", book.bids, book.asks, book, -1)
            elif op == "unsubscribe":
                conn.subs.discard(key)
                conn.send(json.dumps({"event": "unsubscribe", "arg": arg, "connId": "sim"}))

    def _refusal(self, conn: SimConnection, args: list[object]) -> str | None:
        """The error OKX answers a subscribe/unsubscribe request beyond its limits with, or None."""
        if len(json.dumps(args, separators=(",", ":"))) > self.max_args_bytes:
            return '{"event":"error","code":"60013","msg":"Invalid args","connId":"sim"}'
        now = time.monotonic()
        sent: deque[float] = conn.state.setdefault("requests", deque())  # type: ignore[assignment]
        while sent and now - sent[0] > 3600.0:
            sent.popleft()
        last_second = sum(1 for t in sent if now - t < 1.0)
        if len(sent) >= self.max_requests_per_hour or last_second >= self.max_requests_per_s:
            return '{"event":"error","code":"60014","msg":"Requests too frequent.","connId":"sim"}'
        sent.append(now)
        return None

    def _send_books(self, conn: SimConnection, inst_id: str, action: str, bids: Levels, asks: Levels, book: SimBook,
                    prev_seq: int, bad_checksum: bool = False) -> None:
        inst = self.native[inst_id]
        spec = self.specs[inst]
        cs = checksum_crc32(self._wire_levels(spec, book.bids), self._wire_levels(spec, book.asks)) + (1 if bad_checksum else 0)
        data = {"asks": _levels(spec, asks), "bids": _levels(spec, bids), "ts": str(book.ts_ns // 1_000_000), "checksum": cs,
                "prevSeqId": prev_seq, "seqId": self.seq[inst]}
        conn.send(json.dumps({"arg": {"channel": "books", "instId": inst_id}, "action": action, "data": [data]}, separators=(",", ":")))

    @staticmethod
    def _wire_levels(spec: _Spec, levels: Levels) -> list[tuple[str, str]]:
        return [(fmt(p), spec.wire(s)) for p, s in levels]

    def publish(self, update: SimBook | SimFunding) -> None:
        if isinstance(update, SimBook):
            spec = self.specs.get(update.instrument)
            if spec is not None and spec.is_perp:
                # The venue's book holds whole lots of contracts: this is the book it shows.
                def grid(levels: Levels) -> Levels:
                    return [(p, spec.on_grid(s)) for p, s in levels]

                update = SimBook(update.venue, update.instrument, update.ts_ns, grid(update.bids), grid(update.asks), update.crossed)
        super().publish(update)

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        inst = book.instrument
        if not self._live(inst):
            return  # halted / pre-open: listed, acknowledged, silent
        spec = self.specs[inst]
        inst_id = spec.native
        ms = str(book.ts_ns // 1_000_000)
        bbo = json.dumps({"arg": {"channel": "bbo-tbt", "instId": inst_id}, "data": [{
            "asks": _levels(spec, book.asks[:1]), "bids": _levels(spec, book.bids[:1]), "ts": ms, "seqId": self.seq[inst]}]},
            separators=(",", ":"))
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
        inst = funding.instrument
        if not self._live(inst):
            return
        spec = self.specs[inst]
        inst_id = spec.native
        nxt = funding.next_funding_ts_ns // 1_000_000
        interval_ms = int(spec.listing.funding_interval_hours * 3_600_000)  # the listing's period, as REST says
        msg = json.dumps({"arg": {"channel": "funding-rate", "instId": inst_id}, "data": [{
            "instId": inst_id, "instType": "SWAP", "method": "current_period", "fundingRate": f"{funding.rate:.10f}",
            "nextFundingRate": "", "fundingTime": str(nxt), "nextFundingTime": str(nxt + interval_ms),
            "ts": str(funding.ts_ns // 1_000_000)}]}, separators=(",", ":"))
        for conn in self.subscribers(f"funding-rate:{inst_id}"):
            conn.send(msg)


def _levels(spec: _Spec, levels: Levels) -> list[list[str]]:
    return [[fmt(p), spec.wire(s), "0", "1"] for p, s in levels]


def _ok(data: list[dict[str, object]]) -> str:
    return json.dumps({"code": "0", "msg": "", "data": data}, separators=(",", ":"))


def _error(code: str, msg: str) -> str:
    return json.dumps({"code": code, "msg": msg, "data": []}, separators=(",", ":"))


SERVER = OkxSim

__all__ = ["SERVER", "OkxSim", "listing"]
