"""Simulated Coinbase Advanced Trade: the products listing, and the feed for spot and the US
perp-style futures — one channel per subscribe, per-connection sequence_num, subscriptions acks,
1/s heartbeats, ticker and level2 (``l2_data`` snapshot then updates).

Speaks what ``venues/coinbase.py`` reads:
- REST ``GET /api/v3/brokerage/market/products?product_type=SPOT|FUTURE`` in Coinbase's format,
  built from the ``Listing``s (every number a string; ``pagination`` null): spot products with
  ``base_increment`` / ``base_min_size`` / ``price_increment`` / ``quote_min_size`` and status
  "online"; futures as the nano perps are listed — product ids like ``BIP-20DEC30-CDE``,
  ``base_increment`` 1 contract, ``status`` "", ``future_product_details`` with ``contract_size``,
  ``contract_root_unit``, ``funding_interval`` (``"3600s"``), ``funding_rate`` (the synthetic
  market's current rate) and ``funding_time``. Spot and futures share one host on the real venue;
  here either market's prefix answers both product types. A delisted listing is not listed; a
  halted one is (``trading_disabled``, spot ``cancel_only``; futures with the FCM session closed),
  a pre-launch one ``view_only``; both accept subscriptions and send no data.
- the feed: futures quantities are whole contracts of the listing's ``contract_size`` (strings),
  so the server rounds each synthetic futures book to whole contracts: that book, in base units,
  is the reference.

Refusals (what the real feed refuses; the docs give the limits, not the answer, so the answer is
the feed's error shape, ``{"type":"error","message":…,"reason":…}``, and the request is dropped):
a subscribe naming several channels or none (one channel per message), a channel or product the
venue does not have, more than 8 client messages in one second from one IP (all connections of
this server count together). Channels close after 60 s without an update on a connection that
has not subscribed ``heartbeats``, as the docs warn (60-90 s).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import math
import time
from datetime import UTC, datetime

from arbsniper.instruments import parse_instrument
from arbsniper.sim.contracts import whole_contracts
from arbsniper.sim.server import SimConnection, SimVenueServer, diff_levels, fmt, market_of
from arbsniper.sim.synthetic import BASE_PRICES, BASE_SIZES, Listing, SimBook, SimFunding
from arbsniper.venues.coinbase import MESSAGES_PER_S, native_symbol
from arbsniper.venues.metadata import DELISTED, HALTED, PRELAUNCH, TRADING

CHANNELS = ("ticker", "level2", "heartbeats")
PRODUCTS_PATH = "/api/v3/brokerage/market/products"
IDLE_CLOSE_S = 60.0  # channels close after 60-90 s without updates unless heartbeats are subscribed
# The nano perp codes Coinbase uses (BIP-20DEC30-CDE is BTC) and their contract sizes in base units:
# BTC 0.01 (the venue's sample), ETH 0.1 (Coinbase help: "1/10th of an Ether"), SOL 5 and the others
# as public code and the nano futures specs give them; other bases get a code of their own and a
# contract worth about 500 USD.
NANO_PERPS = {"BTC": ("BIP", 0.01), "ETH": ("ETP", 0.1), "SOL": ("SLP", 5.0), "XRP": ("XPP", 500.0), "DOGE": ("DOP", 5000.0),
              "ADA": ("ADP", 1000.0), "LTC": ("LCP", 5.0), "AVAX": ("AVP", 10.0), "LINK": ("LNP", 50.0), "DOT": ("POP", 100.0)}
PERP_EXPIRY = "20DEC30"  # the 5-year "expiry" of the perp-style futures


def iso(ts_ns: int) -> str:
    secs, frac = divmod(ts_ns, 1_000_000_000)
    return datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def perp_product_id(instrument: str) -> str:
    """The futures product id of a unified perpetual (``BTC/USD:USD`` → ``BIP-20DEC30-CDE``)."""
    base = parse_instrument(instrument).base
    code = NANO_PERPS[base][0] if base in NANO_PERPS else f"{base}P"
    return f"{code}-{PERP_EXPIRY}-CDE"


def product_id(instrument: str) -> str:
    return perp_product_id(instrument) if market_of(instrument) == "perp" else native_symbol(instrument)


def _power_of_ten(x: float) -> float:
    return float(10 ** math.floor(math.log10(x)))


def listing(instrument: str, price: float, funding_interval_hours: float = 8.0, status: str = TRADING) -> Listing:
    """Coinbase's listing of ``instrument`` at reference ``price``.

    Spot (BTC-USD in the venue's sample: base_increment and base_min_size 0.00000001, price_increment
    0.01, quote_min_size 1): price_increment 0.01 from 1 USD up, about 10 ppm below; base_increment
    0.00000001 from 10 USD up, else a step worth about 0.1 USD; 1 USD minimum value. Futures: the
    nano perp contract sizes (``NANO_PERPS``), lots and minimum of one contract, tick 5 USD on BTC
    (the sample) and about 0.01 % of the price otherwise, no minimum value.
    """
    if not price > 0.0:
        raise ValueError(f"coinbase listing {instrument}: price must be positive, got {price}")
    inst = parse_instrument(instrument)
    if inst.is_perp:
        size = NANO_PERPS[inst.base][1] if inst.base in NANO_PERPS else float(10 ** round(math.log10(500.0 / price)))
        tick = 5.0 if inst.base == "BTC" else _power_of_ten(price) / 1e4
        return Listing("coinbase", instrument, contract_size=size, lot_size=size, tick=tick, min_size=size,
                       funding_interval_hours=funding_interval_hours, status=status)
    tick = 0.01 if price >= 1.0 else _power_of_ten(price) / 1e4
    step = 1e-8 if price >= 10.0 else _power_of_ten(0.1 / price)
    return Listing("coinbase", instrument, lot_size=step, tick=tick, min_size=step, min_notional=1.0, status=status)


def filled(lst: Listing) -> Listing:
    """``lst`` with the steps it leaves at 0 ("the simulator picks") from ``listing`` at the
    synthetic market's reference price; a perpetual's lot and minimum default to one contract."""
    if lst.lot_size and lst.tick and lst.min_size:
        return lst
    inst = parse_instrument(lst.instrument)
    picked = listing(lst.instrument, BASE_PRICES.get(inst.base, 100.0), lst.funding_interval_hours, lst.status)
    one = lst.contract_size if inst.is_perp else 0.0
    return dataclasses.replace(lst, lot_size=lst.lot_size or one or picked.lot_size, tick=lst.tick or picked.tick,
                               min_size=lst.min_size or one or picked.min_size,
                               min_notional=lst.min_notional or (0.0 if one else picked.min_notional))


class CoinbaseSim(SimVenueServer):
    venue = "coinbase"
    markets = ("spot", "perp")
    has_pings = False  # no ping/pong: the heartbeats channel keeps the connection alive
    timer_interval_s = 1.0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.listings = [filled(lst) for lst in self.listings]
        self.by_instrument = {lst.instrument: lst for lst in self.listings}
        listed = [lst for lst in self.listings if lst.status != DELISTED]
        self.native = {product_id(lst.instrument): lst.instrument for lst in listed}
        self.product = {inst: p for p, inst in self.native.items()}
        self.live = {lst.instrument for lst in listed if lst.status == TRADING}
        self.heartbeat_counter = 0
        self.sent_times: collections.deque[float] = collections.deque()  # client messages, this "IP"
        self.refusals: list[str] = []

    # ---- REST -------------------------------------------------------------------------------

    def rest(self, method: str, market: str, path: str, query: dict[str, list[str]], body: bytes = b"") -> tuple[int, str]:
        if path != PRODUCTS_PATH or method != "GET":
            return 404, '{"error":"NOT_FOUND","message":"Not Found"}'
        kind = query.get("product_type", [""])[0]
        if kind not in ("", "SPOT", "FUTURE"):
            return 400, '{"error":"INVALID_ARGUMENT","message":"invalid product_type"}'
        chosen = [self.by_instrument[inst] for inst in self.native.values()
                  if kind == "" or (kind == "FUTURE") == (market_of(inst) == "perp")]
        out = [self._future(lst) if market_of(lst.instrument) == "perp" else self._spot(lst) for lst in chosen]
        return 200, json.dumps({"products": out, "num_products": len(out), "pagination": None})

    def _mid(self, instrument: str) -> float:
        book = self.books.get(instrument)
        return (book.bids[0][0] + book.asks[0][0]) / 2 if book is not None else 0.0

    def _day_volume(self, instrument: str) -> float:
        """A 24 h base volume that ranks like the synthetic market's depth (10 000 × a level's size)."""
        return BASE_SIZES.get(parse_instrument(instrument).base, 10.0) * 10_000

    def _common(self, lst: Listing) -> dict[str, object]:
        inst = parse_instrument(lst.instrument)
        mid = self._mid(lst.instrument)
        return {
            "product_id": self.product[lst.instrument], "price": fmt(mid), "price_percentage_change_24h": "0.1",
            "volume_percentage_change_24h": "1.0", "quote_increment": "0.01", "quote_max_size": "100000000",
            "quote_name": "US Dollar" if inst.quote == "USD" else inst.quote, "watched": False, "new": False,
            "cancel_only": False, "limit_only": False, "post_only": False, "trading_disabled": lst.status == HALTED,
            "auction_mode": False, "is_disabled": False, "view_only": lst.status == PRELAUNCH, "quote_currency_id": inst.quote,
            "mid_market_price": "", "alias": "", "alias_to": [], "quote_display_symbol": inst.quote,
            "price_increment": fmt(lst.tick), "approximate_quote_24h_volume": fmt(self._day_volume(lst.instrument) * mid),
            "market_cap": "", "icon_url": "", "is_alpha_testing": False, "best_bid_price": "", "best_ask_price": "",
        }

    def _spot(self, lst: Listing) -> dict[str, object]:
        inst = parse_instrument(lst.instrument)
        return {**self._common(lst), "volume_24h": fmt(self._day_volume(lst.instrument)), "base_increment": fmt(lst.lot_size),
                "base_min_size": fmt(lst.min_size), "base_max_size": "10000000", "quote_min_size": fmt(lst.min_notional),
                "base_name": inst.base, "status": "online", "cancel_only": lst.status == HALTED, "product_type": "SPOT",
                "base_currency_id": inst.base, "fcm_trading_session_details": None, "base_display_symbol": inst.base,
                "display_name": self.product[lst.instrument], "product_venue": "CBE", "new_at": "2023-01-01T00:00:00Z"}

    def _future(self, lst: Listing) -> dict[str, object]:
        inst = parse_instrument(lst.instrument)
        size = lst.contract_size
        funding = self.fundings.get(lst.instrument)
        now = max((b.ts_ns for b in self.books.values()), default=time.time_ns())
        open_ = lst.status != HALTED
        session = {"is_session_open": open_, "open_time": iso(now - 3_600_000_000_000), "close_time": iso(now + 82_800_000_000_000),
                   "session_state": "FCM_TRADING_SESSION_STATE_OPEN" if open_ else "FCM_TRADING_SESSION_STATE_CLOSED",
                   "after_hours_order_entry_disabled": False, "closed_reason": "FCM_TRADING_SESSION_CLOSED_REASON_UNDEFINED"}
        details = {
            "venue": "cde", "contract_code": self.product[lst.instrument][:3], "contract_expiry": "2030-12-20T16:00:00Z",
            "contract_size": fmt(size), "contract_root_unit": inst.base, "group_description": f"nano {inst.base} Perp Futures",
            "contract_expiry_timezone": "Europe/London", "group_short_description": f"nano {inst.base} Perp",
            "risk_managed_by": "MANAGED_BY_FCM", "contract_expiry_type": "EXPIRING",
            "perpetual_details": {"open_interest": "1000", "funding_rate": "", "funding_time": None, "max_leverage": "",
                                  "base_asset_uuid": "", "underlying_type": ""},
            "contract_display_name": f"{inst.base} PERP", "non_crypto": False, "twenty_four_by_seven": True,
            "funding_interval": f"{round(lst.funding_interval_hours * 3600)}s", "open_interest": "1000",
            "funding_rate": fmt(funding.rate) if funding is not None else "0",
            "funding_time": iso(funding.next_funding_ts_ns) if funding is not None and funding.next_funding_ts_ns else None,
            "display_name": f"{inst.base} Perpetual", "futures_asset_type": "FUTURES_ASSET_TYPE_CRYPTO",
            "index_price": fmt(self._mid(lst.instrument)),
        }
        return {**self._common(lst), "volume_24h": fmt(round(self._day_volume(lst.instrument) / size)), "base_increment": "1",
                "base_min_size": fmt(round(lst.min_size / size) or 1), "base_max_size": "5000", "quote_min_size": fmt(lst.min_notional),
                "base_name": "", "status": "", "product_type": "FUTURE", "base_currency_id": "", "base_display_symbol": "",
                "fcm_trading_session_details": session, "display_name": f"{inst.base} PERP", "product_venue": "FCM", "new_at": None,
                "future_product_details": details}

    # ---- the feed ------------------------------------------------------------------------------

    def _send(self, conn: SimConnection, channel: str, events: list[dict[str, object]], ts_ns: int, skip: bool = False) -> None:
        conn.seq += 2 if skip else 1
        if channel != "heartbeats":
            conn.state["last_update"] = time.monotonic()
        conn.send(json.dumps({"channel": channel, "client_id": "", "timestamp": iso(ts_ns), "sequence_num": conn.seq - 1,
                              "events": events}, separators=(",", ":")))

    def _refuse(self, conn: SimConnection, message: str, reason: str) -> None:
        self.refusals.append(reason)
        conn.send(json.dumps({"type": "error", "message": message, "reason": reason}))

    def _over_rate(self) -> bool:
        """One more client message from this IP; True when it is beyond 8 in the last second."""
        now = time.monotonic()
        sent = self.sent_times
        while sent and sent[0] <= now - 1.0:
            sent.popleft()
        sent.append(now)
        return len(sent) > MESSAGES_PER_S

    def on_connect(self, conn: SimConnection) -> None:
        conn.state["last_update"] = time.monotonic()

    @staticmethod
    def _last_update(conn: SimConnection) -> float:
        value = conn.state.get("last_update", 0.0)
        return value if isinstance(value, float) else 0.0

    def on_message(self, conn: SimConnection, text: str) -> None:
        if self._over_rate():
            self._refuse(conn, "Failed to subscribe", "rate limit exceeded: 8 messages per second")
            return
        try:
            req = json.loads(text)
            op, products = req["type"], req["product_ids"]
        except (ValueError, KeyError, TypeError):
            conn.send(json.dumps({"type": "error", "message": "Failed to parse subscription"}))
            return
        channel = req.get("channel")
        if not isinstance(channel, str):
            self._refuse(conn, f"Failed to {op}", "one channel per subscribe message (\"channel\")")
            return
        if channel not in CHANNELS or op not in ("subscribe", "unsubscribe") or any(p not in self.native for p in products):
            conn.send(json.dumps({"type": "error", "message": f"Failed to {op}", "reason": "bad channel or product"}))
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
            inst = self.native[p]
            book = self.books.get(inst)
            if book is None or inst not in self.live:
                continue
            if channel == "level2":
                bids, asks = self._wire(inst, book)
                updates = [self._update("bid", px, q, book.ts_ns) for px, q in bids]
                updates += [self._update("offer", px, q, book.ts_ns) for px, q in asks]
                self._send(conn, "l2_data", [{"type": "snapshot", "product_id": p, "updates": updates}], book.ts_ns)
            elif channel == "ticker":
                self._send(conn, "ticker", [{"type": "snapshot", "tickers": [self._ticker(p, inst, book)]}], book.ts_ns)

    def _wire(self, inst: str, book: SimBook) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """The book's levels in the venue's unit: base units on spot, whole contracts on futures."""
        if market_of(inst) != "perp":
            return book.bids, book.asks
        per = self.by_instrument[inst].contract_size  # the book holds whole contracts: each size divides back to its count
        return [(p, float(round(q / per))) for p, q in book.bids], [(p, float(round(q / per))) for p, q in book.asks]

    @staticmethod
    def _update(side: str, price: float, qty: float, ts_ns: int) -> dict[str, str]:
        return {"side": side, "event_time": iso(ts_ns), "price_level": fmt(price), "new_quantity": fmt(qty)}

    def _ticker(self, product: str, inst: str, book: SimBook) -> dict[str, str]:
        bids, asks = self._wire(inst, book)
        mid = (book.bids[0][0] + book.asks[0][0]) / 2
        return {"type": "ticker", "product_id": product, "price": fmt(mid), "volume_24_h": "1000", "low_24_h": fmt(mid * 0.98),
                "high_24_h": fmt(mid * 1.02), "low_52_w": fmt(mid * 0.5), "high_52_w": fmt(mid * 1.5), "price_percent_chg_24_h": "0.5",
                "best_bid": fmt(bids[0][0]), "best_bid_quantity": fmt(bids[0][1]),
                "best_ask": fmt(asks[0][0]), "best_ask_quantity": fmt(asks[0][1])}

    def publish(self, update: SimBook | SimFunding) -> None:
        if isinstance(update, SimBook) and market_of(update.instrument) == "perp" and update.instrument in self.by_instrument:
            # The venue's book holds whole contracts; this is the book it shows (in base units).
            size = self.by_instrument[update.instrument].contract_size
            bids, _ = whole_contracts(update.bids, size)
            asks, _ = whole_contracts(update.asks, size)
            update = SimBook(update.venue, update.instrument, update.ts_ns, bids, asks, update.crossed)
        super().publish(update)

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        inst = book.instrument
        if inst not in self.live:
            return  # halted, pre-launch or delisted: no data
        product = self.product[inst]
        for conn in self.subscribers(f"ticker:{product}"):
            self._send(conn, "ticker", [{"type": "update", "tickers": [self._ticker(product, inst, book)]}], book.ts_ns)
        if prev is None or book.crossed:
            return
        skip = inst in self.faults.skip_seq
        self.faults.skip_seq.discard(inst)
        # On futures the levels are whole contracts: a size in base units divided back is their count.
        per = self.by_instrument[inst].contract_size if market_of(inst) == "perp" else 0.0
        changes = [("bid", p, q) for p, q in diff_levels(prev.bids, book.bids)] + [("offer", p, q) for p, q in diff_levels(prev.asks, book.asks)]
        updates = [self._update(side, p, float(round(q / per)) if per else q, book.ts_ns) for side, p, q in changes]
        for conn in self.subscribers(f"level2:{product}"):
            self._send(conn, "l2_data", [{"type": "update", "product_id": product, "updates": updates}], book.ts_ns, skip)

    def on_timer(self) -> None:
        self.heartbeat_counter += 1
        now = time.time_ns()
        idle_before = time.monotonic() - IDLE_CLOSE_S
        current = datetime.fromtimestamp(now / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S.%f000 +0000 UTC")
        for conn in list(self.connections):
            if any(k.startswith("heartbeats:") for k in conn.subs):
                self._send(conn, "heartbeats", [{"current_time": current, "heartbeat_counter": self.heartbeat_counter}], now)
            elif conn.subs and self._last_update(conn) < idle_before:
                conn.subs.clear()  # the venue closes channels that had no update for 60-90 s


SERVER = CoinbaseSim
