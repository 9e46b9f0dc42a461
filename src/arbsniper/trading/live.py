"""Live executor: real IOC orders through ccxt (opt-in: ``--live``; ``--dry-run`` prints them instead).

Keys come only from the environment, one set per venue: ``<VENUE>_API_KEY``, ``<VENUE>_API_SECRET``
and, where the venue has one, ``<VENUE>_API_PASSPHRASE`` (e.g. ``BINANCE_API_KEY``). They are handed
to ccxt and never printed, logged or written to the ledger. (Not ``ARBSNIPER_*``: that prefix is
the config's.)

Each order carries the runner's client order id, so its fate can be found after a crash
(``recover`` asks the venue by that id, then fetches the order's trades for the exact fills and
fees). A network error while sending is resolved the same way: the venue is asked whether the
order exists before anything is assumed. Venue refusals (insufficient funds, invalid order)
become rejected results; the runner's leg-risk handling is the same as on paper.

Units: orders, fills and the ledger are in base units everywhere in arbsniper; ccxt's ``amount``
is in the venue's unit, contracts on contract markets (an OKX BTC-USDT-SWAP contract is 0.01 BTC,
a KuCoin XBTUSDTM lot 0.001 BTC, a Coinbase nano BTC future 0.01 BTC). ``venue_amount`` converts
an order's base quantity with the market's ``contractSize``, down to the lot grid, and refuses it
below the minimum size or notional; ``base_amount`` converts fills back. Where our own metadata
is known it must agree with ccxt's contract size, or the order is refused (a unit mix-up).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, TextIO

from arbsniper.config import Config
from arbsniper.instruments import parse_instrument
from arbsniper.trading.orders import BUY, DRY_RUN, EXPIRED, REJECTED, Fill, OrderRequest, OrderResult, final_status
from arbsniper.venues import REGISTRY
from arbsniper.venues.metadata import InstrumentMeta

log = logging.getLogger("arbsniper.trading.live")

class OrderSizeError(ValueError):
    """An order that cannot be sent at its size: below the venue's minimum, or in an uncertain unit."""


def contract_size(ex: Any, symbol: str) -> float:
    """Base units per unit of ccxt's ``amount`` on ``symbol`` (1 on spot, ``contractSize`` on contracts)."""
    market = ex.market(symbol)
    if not market.get("contract"):
        return 1.0
    size = market.get("contractSize")
    if not size or float(size) <= 0:
        raise OrderSizeError(f"{symbol}: the venue gives no contract size: the order's unit is unknown")
    return float(size)


def venue_amount(ex: Any, symbol: str, qty: float, price: float | None, min_notional: float = 0.0) -> float:
    """ccxt's ``amount`` for ``qty`` base units: venue units, down to the lot grid, at least the minimums.

    ``price`` (the limit, or the expected price of a market order) prices the minimum notional;
    ``min_notional`` (quote currency, from our metadata) adds to ccxt's own ``limits.cost.min``.
    """
    import ccxt

    size = contract_size(ex, symbol)
    # round(…, 9) first: 4.31 / 0.01 is 430.99999999999994 in binary, and means 431 contracts
    units = round(qty / size, 9)
    try:
        amount = float(ex.amount_to_precision(symbol, units))  # ccxt truncates to the lot grid
    except ccxt.InvalidOrder:
        amount = 0.0
    limits = ex.market(symbol).get("limits") or {}
    least = float((limits.get("amount") or {}).get("min") or 0.0)
    if amount <= 0.0 or amount + 1e-12 < least:
        raise OrderSizeError(f"{symbol}: {qty:g} base = {units:g} venue units, below the minimum size {least:g}")
    if price is not None and price > 0:
        notional = amount * size * price
        least_cost = max(float((limits.get("cost") or {}).get("min") or 0.0), min_notional)
        if notional + 1e-9 < least_cost:
            raise OrderSizeError(f"{symbol}: notional {notional:.6g} below the minimum {least_cost:g}")
    return amount


def base_amount(ex: Any, symbol: str, amount: float) -> float:
    """Base units of a ccxt ``amount`` (a fill, a filled quantity) on ``symbol``."""
    return amount * contract_size(ex, symbol)


# Our venue names -> ccxt exchange ids (unified symbols are the same convention as ours).
CCXT_IDS = {name: info.ccxt_id for name, info in REGISTRY.items()}


def credentials(venue: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ccxt credential fields for ``venue`` found in the environment (possibly none)."""
    env = os.environ if environ is None else environ
    prefix = venue.upper()
    out = {}
    for field, suffix in (("apiKey", "API_KEY"), ("secret", "API_SECRET"), ("password", "API_PASSPHRASE")):
        value = env.get(f"{prefix}_{suffix}")
        if value:
            out[field] = value
    return out


def point_at(exchange: Any, base_url: str) -> None:
    """Send every REST call of a ccxt exchange to ``base_url`` (a proxy, a testnet, a local server).

    ``https://api.binance.com/api/v3`` becomes ``<base_url>/api/v3``: the path is kept, the scheme
    and host are replaced, for every entry of ``exchange.urls["api"]``.
    """
    base = base_url.rstrip("/")

    def rewrite(node: Any) -> Any:
        if isinstance(node, str):
            scheme, sep, rest = node.partition("://")
            if not sep:
                return node
            _, slash, path = rest.partition("/")
            return base + (slash + path if slash else "")
        if isinstance(node, dict):
            return {k: rewrite(v) for k, v in node.items()}
        return node

    exchange.urls["api"] = rewrite(exchange.urls["api"])


class LiveExecutor:
    """Orders through ccxt exchanges (one instance per venue), or printed only when ``dry_run``."""

    def __init__(self, exchanges: dict[str, Any], *, dry_run: bool, out: TextIO | None = sys.stdout,
                 clock_ns: Callable[[], int] = time.time_ns,
                 metadata: Mapping[tuple[str, str], InstrumentMeta] | None = None) -> None:
        self.exchanges = exchanges
        self.metadata = dict(metadata or {})  # (venue, instrument) -> the venue's listing, when known
        self.dry_run = dry_run
        self.name = "dry-run" if dry_run else "live"
        self.out = out
        self.clock_ns = clock_ns
        self._loaded: set[str] = set()
        self._unloadable: set[str] = set()

    @classmethod
    def from_config(cls, config: Config, venues: list[str], *, dry_run: bool,
                    environ: Mapping[str, str] | None = None, out: TextIO | None = sys.stdout) -> LiveExecutor:
        """ccxt exchanges for ``venues`` with keys from the environment (required unless dry-run)."""
        import ccxt.async_support as ccxt_async

        exchanges = {}
        missing = []
        for venue in venues:
            creds = credentials(venue, environ)
            if not dry_run and not {"apiKey", "secret"} <= creds.keys():
                missing.append(f"{venue.upper()}_API_KEY/{venue.upper()}_API_SECRET")
            ex = getattr(ccxt_async, CCXT_IDS[venue])({"enableRateLimit": True, **creds})
            # Signed, heavy calls that trading does not need (currencies, margin pairs).
            ex.options["fetchCurrencies"] = False
            ex.options["fetchMargins"] = False
            rest_url = config.venue(venue).rest_url
            if rest_url:
                point_at(ex, rest_url)
            exchanges[venue] = ex
        if missing:
            raise ValueError("live trading needs API keys in the environment: " + ", ".join(missing))
        return cls(exchanges, dry_run=dry_run, out=out)

    async def _exchange(self, venue: str) -> Any:
        import ccxt as ccxt_errors

        ex = self.exchanges.get(venue)
        if ex is None:
            raise KeyError(f"no live connection configured for venue {venue!r}")
        if venue not in self._loaded:
            if venue in self._unloadable:
                raise ccxt_errors.NetworkError(f"{venue}: markets could not be loaded earlier")
            try:
                await ex.load_markets()
            except ccxt_errors.BaseError:
                if self.dry_run:
                    self._unloadable.add(venue)  # a dry run offline: do not wait on every order
                raise
            self._loaded.add(venue)
        return ex

    def build(self, ex: Any, order: OrderRequest) -> dict[str, Any]:
        """The ccxt ``create_order`` arguments for an order: its base quantity in the venue's unit,
        rounded down to the lot grid (OrderSizeError below the minimums or on a unit disagreement)."""
        meta = self.metadata.get((order.venue, order.instrument))
        size = contract_size(ex, order.instrument)
        if meta is not None and abs(meta.contract_size - size) > 1e-12 * max(1.0, size):
            raise OrderSizeError(f"{order.instrument}: contract size {size:g} (ccxt) disagrees with the venue "
                                 f"listing's {meta.contract_size:g}: refusing an order in an uncertain unit")
        amount = venue_amount(ex, order.instrument, order.qty, order.limit_price,
                              meta.min_notional if meta is not None else 0.0)
        spec: dict[str, Any] = {
            "venue": order.venue,
            "symbol": order.instrument,
            "type": "limit" if order.limit_price is not None else "market",
            "side": order.side,
            "amount": amount,  # the venue's unit (contracts on contract markets)
            "base_qty": amount * size,  # the same in base units, as the ledger books it
            "price": None,
            "params": {"clientOrderId": order.client_id},
        }
        if order.limit_price is not None:
            spec["price"] = limit_to_tick(ex, order.instrument, order.limit_price, order.side)
            spec["params"]["timeInForce"] = "IOC"
        return spec

    async def execute(self, order: OrderRequest) -> OrderResult:
        import ccxt

        try:
            ex = await self._exchange(order.venue)
            spec = self.build(ex, order)
        except OrderSizeError as exc:
            return OrderResult(order, REJECTED, reason=str(exc)[:200])
        except (KeyError, ccxt.BaseError) as exc:
            if not self.dry_run or isinstance(exc, KeyError):
                return OrderResult(order, REJECTED, reason=f"{type(exc).__name__}: {exc}"[:200])
            # Dry run without the venue's market list (offline): show the order unrounded, and say so.
            # Without the market its unit is unknown: the base quantity only, never a guessed amount.
            spec = {"venue": order.venue, "symbol": order.instrument,
                    "type": "limit" if order.limit_price is not None else "market", "side": order.side,
                    "amount": None, "base_qty": order.qty, "price": order.limit_price,
                    "params": {"clientOrderId": order.client_id,
                               **({"timeInForce": "IOC"} if order.limit_price is not None else {})},
                    "precision": f"not applied: markets not loaded ({type(exc).__name__})"}
        if self.dry_run:
            if self.out is not None:
                self.out.write("DRY-RUN ORDER " + json.dumps({"client_id": order.client_id, "purpose": order.purpose,
                                                               **spec}) + "\n")
                self.out.flush()
            return OrderResult(order, DRY_RUN, reason="dry_run")
        try:
            resp = await ex.create_order(spec["symbol"], spec["type"], spec["side"], spec["amount"], spec["price"],
                                         spec["params"])
        except (ccxt.NetworkError, ccxt.ExchangeNotAvailable) as exc:
            # The order may or may not have reached the venue: ask it, by our id.
            log.warning("order send failed; asking the venue", extra={"fields": {
                "client_id": order.client_id, "error": type(exc).__name__}})
            return await self.recover(order)
        except ccxt.BaseError as exc:
            return OrderResult(order, REJECTED, reason=f"{type(exc).__name__}: {exc}"[:200])
        return await self._result(ex, order, resp)

    async def _result(self, ex: Any, order: OrderRequest, resp: dict[str, Any]) -> OrderResult:
        trades = resp.get("trades") or []
        size = contract_size(ex, order.instrument)
        filled = float(resp.get("filled") or 0.0) * size  # base units from here on
        if filled > 0 and not trades:
            trades = await ex.fetch_my_trades(order.instrument, params={"orderId": resp["id"]})
        fills = [self._fill(order, t, n, size) for n, t in enumerate(trades)]
        got = sum(f.qty for f in fills)
        if filled > 0 and got + 1e-12 < filled:
            # The venue reports more filled than it itemised: book the rest at the order's average.
            avg = float(resp.get("average") or order.limit_price or 0.0)
            fee = resp.get("fee") or {}
            fills.append(Fill(f"{order.client_id}:rest", order.client_id, order.venue, order.instrument, order.side,
                              filled - got, avg, float(fee.get("cost") or 0.0),
                              fee.get("currency") or _quote(order.instrument), self.clock_ns()))
        status = final_status(order.qty, sum(f.qty for f in fills))
        return OrderResult(order, status, fills, "" if status != REJECTED else str(resp.get("status") or "not filled"),
                           str(resp.get("id") or ""))

    def _fill(self, order: OrderRequest, t: dict[str, Any], n: int, size: float = 1.0) -> Fill:
        fee = t.get("fee") or {}
        ts = t.get("timestamp")
        return Fill(f"{order.client_id}:{t.get('id') or n}", order.client_id, order.venue, order.instrument,
                    order.side, float(t["amount"]) * size, float(t["price"]), float(fee.get("cost") or 0.0),
                    fee.get("currency") or _quote(order.instrument), int(ts) * 1_000_000 if ts else self.clock_ns())

    async def recover(self, order: OrderRequest) -> OrderResult:
        import ccxt

        if self.dry_run:
            return OrderResult(order, EXPIRED, reason="dry_run")
        try:
            ex = await self._exchange(order.venue)
            resp = await ex.fetch_order(None, order.instrument, {"clientOrderId": order.client_id})
        except ccxt.OrderNotFound:
            return OrderResult(order, EXPIRED, reason="not_received")
        except ccxt.BaseError as exc:
            log.error("cannot learn an order's fate; treating it as unfilled", extra={"fields": {
                "client_id": order.client_id, "error": type(exc).__name__}})
            return OrderResult(order, EXPIRED, reason=f"unknown: {type(exc).__name__}")
        return await self._result(ex, order, resp)

    async def fetch_balances(self) -> dict[tuple[str, str], float]:
        """Total balances per (venue, asset) as the venues report them."""
        out: dict[tuple[str, str], float] = {}
        for venue in self.exchanges:
            ex = await self._exchange(venue)
            bal = await ex.fetch_balance()
            for asset, total in (bal.get("total") or {}).items():
                if total:
                    out[(venue, asset)] = float(total)
        return out

    async def close(self) -> None:
        for ex in self.exchanges.values():
            await ex.close()


def limit_to_tick(ex: Any, symbol: str, price: float, side: str) -> float:
    """A limit price on the venue's tick, never worse than asked: buys round down, sells round up."""
    from ccxt.base.decimal_to_precision import TICK_SIZE

    tick = ex.market(symbol)["precision"]["price"]
    if ex.precisionMode != TICK_SIZE or not tick:
        return float(ex.price_to_precision(symbol, price))
    step = Decimal(str(tick))
    # round(…, 10) first: 100 × 1.005 is 100.49999999999999 in binary, and means 100.5
    units = (Decimal(repr(round(price, 10))) / step).to_integral_value(ROUND_FLOOR if side == BUY else ROUND_CEILING)
    return float(units * step)


def _quote(instrument: str) -> str:
    inst = parse_instrument(instrument)
    return inst.settle or inst.quote
