"""Base units end to end: a venue's size in contracts → Quote and Book in base units → the
signal's ``size`` → a paper fill → a live order's ccxt ``amount`` back in contracts.

OKX BTC-USDT-SWAP (1 contract = 0.01 BTC, the real listing ``rest_instruments_swap.json``):
``"bidSz":"431"`` is 4.31 BTC and an order for 4.31 BTC is 431 contracts. KuCoin XBTUSDTM
(``multiplier`` 0.001 BTC, the real ``rest_contracts_active.json``) and Coinbase BIP-20DEC30-CDE
(``contract_size`` 0.01 BTC, the real ``rest_products_future.json``) likewise. ccxt's markets
are ccxt's own parse of the real OKX listing, or built from our metadata for KuCoin and Coinbase
(whose ccxt classes parse their listings only inside a network fetch); nothing touches a network.
"""

from __future__ import annotations

import io
import json
from typing import Any

import ccxt
import msgspec
import pytest

from arbsniper.config import Config
from arbsniper.engine import Engine
from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, Quote, Signal
from arbsniper.trading.live import LiveExecutor, OrderSizeError, base_amount, venue_amount
from arbsniper.trading.market import EngineMarketView, MarketRules
from arbsniper.trading.orders import DRY_RUN, FILLED, REJECTED, SELL, OrderRequest
from arbsniper.trading.paper import PaperExecutor
from arbsniper.venues.book import checksum_crc32
from arbsniper.venues.coinbase import CoinbasePerp
from arbsniper.venues.kucoin.futures import KuCoinFutures
from arbsniper.venues.metadata import InstrumentMeta
from arbsniper.venues.okx import OkxSwap
from tests.conftest import FIXTURES

RECV = 1_700_000_000_000_000_000
OKX_META = OkxSwap.parse_metadata("perp", {"instruments": [(FIXTURES / "okx" / "rest_instruments_swap.json").read_bytes()]})
KUCOIN_META = KuCoinFutures.parse_metadata("perp", {"contracts": [(FIXTURES / "kucoin" / "rest_contracts_active.json").read_bytes()]})
COINBASE_META = CoinbasePerp.parse_metadata("perp", {"products": [(FIXTURES / "coinbase" / "rest_products_future.json").read_bytes()]})


def _meta(metas: list[InstrumentMeta], native: str) -> InstrumentMeta:
    [meta] = [m for m in metas if m.native_symbol == native]
    return meta


def okx_frames(bid_contracts: str) -> tuple[str, str]:
    """A real ``tickers`` frame of BTC-USDT-SWAP (``bidSz`` as given) and a ``books`` snapshot, valid checksum."""
    ticker = {"arg": {"channel": "tickers", "instId": "BTC-USDT-SWAP"}, "data": [{
        "instType": "SWAP", "instId": "BTC-USDT-SWAP", "last": "38632.4", "lastSz": "1", "askPx": "38632.4", "askSz": "727",
        "bidPx": "38632.3", "bidSz": bid_contracts, "open24h": "38000", "high24h": "39000", "low24h": "37900",
        "sodUtc0": "38100", "sodUtc8": "38200", "volCcy24h": "123456.78", "vol24h": "12345678", "ts": "1651761120004"}]}
    bids, asks = [("38632.3", bid_contracts), ("30000.0", "12")], [("38632.4", "727")]
    book = {"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"}, "action": "snapshot", "data": [{
        "bids": [[p, s, "0", "3"] for p, s in bids], "asks": [[p, s, "0", "5"] for p, s in asks], "ts": "1651761120004",
        "checksum": checksum_crc32(bids, asks)}]}
    return json.dumps(ticker), json.dumps(book)


def kucoin_frames(bid_lots: int) -> tuple[str, str]:
    """KuCoin futures ``tickerV2`` and ``level2Depth5`` frames of XBTUSDTM (sizes in lots of 0.001 BTC)."""
    ticker = {"type": "message", "topic": "/contractMarket/tickerV2:XBTUSDTM", "subject": "tickerV2", "data": {
        "symbol": "XBTUSDTM", "sequence": 1643185147205, "bestBidSize": bid_lots, "bestBidPrice": "31766.0",
        "bestAskPrice": "31767.0", "ts": 1654032807465857723, "bestAskSize": 1187}}
    depth = {"type": "message", "topic": "/contractMarket/level2Depth5:XBTUSDTM", "subject": "level2", "data": {
        "sequence": 1643184485510, "asks": [[31767, 1187]], "bids": [[31766, bid_lots], [25000, 553]],
        "ts": 1654032807465, "timestamp": 1654032807465}}
    return json.dumps(ticker), json.dumps(depth)


def coinbase_frames(bid_contracts: str) -> tuple[str, str]:
    """Advanced Trade ``ticker`` and ``l2_data`` frames of BIP-20DEC30-CDE (sizes in contracts of 0.01 BTC)."""
    ticker = {"channel": "ticker", "client_id": "", "timestamp": "2026-04-07T14:30:03.000000Z", "sequence_num": 0,
              "events": [{"type": "snapshot", "tickers": [{
                  "type": "ticker", "product_id": "BIP-20DEC30-CDE", "price": "68930", "best_bid": "68925",
                  "best_bid_quantity": bid_contracts, "best_ask": "68930", "best_ask_quantity": "727"}]}]}
    t = "2026-04-07T14:30:03.000000Z"
    l2 = {"channel": "l2_data", "client_id": "", "timestamp": t, "sequence_num": 1, "events": [{
        "type": "snapshot", "product_id": "BIP-20DEC30-CDE", "updates": [
            {"side": "bid", "event_time": t, "price_level": "68925", "new_quantity": bid_contracts},
            {"side": "bid", "event_time": t, "price_level": "50000", "new_quantity": "12"},
            {"side": "offer", "event_time": t, "price_level": "68930", "new_quantity": "727"}]}]}
    return json.dumps(ticker), json.dumps(l2)


def ccxt_market(meta: InstrumentMeta) -> dict[str, Any]:
    """A ccxt unified market for one of our perpetual listings (amounts in contracts, as ccxt counts them)."""
    base, _, rest = meta.instrument.partition("/")
    quote, _, settle = rest.partition(":")
    return {"id": meta.native_symbol, "symbol": meta.instrument, "base": base, "quote": quote, "settle": settle,
            "baseId": base, "quoteId": quote, "settleId": settle, "type": "swap", "spot": False, "margin": False,
            "swap": True, "future": False, "option": False, "active": True, "contract": True, "linear": True,
            "inverse": False, "contractSize": meta.contract_size, "expiry": None, "expiryDatetime": None,
            "strike": None, "optionType": None, "taker": 0.0006, "maker": 0.0002,
            "precision": {"amount": meta.lot_size / meta.contract_size, "price": meta.tick_size},
            "limits": {"amount": {"min": meta.min_size / meta.contract_size, "max": None}, "price": {"min": None, "max": None},
                       "cost": {"min": meta.min_notional or None, "max": None}, "leverage": {"min": None, "max": None}},
            "info": {}}


def ccxt_exchange(venue: str) -> Any:
    if venue == "okx":
        ex = ccxt.okx()
        body = json.loads((FIXTURES / "okx" / "rest_instruments_swap.json").read_text())
        ex.set_markets(ex.parse_markets(body["data"]))  # ccxt's own reading of the real listing
        return ex
    ex = ccxt.kucoinfutures() if venue == "kucoin" else ccxt.coinbase()
    ex.set_markets([ccxt_market(KUCOIN_META[0] if venue == "kucoin" else COINBASE_META[0])])
    return ex


CASES = [
    # venue, venue class, native, frames, venue size of the bid, its base size, venue price of the bid
    ("okx", OkxSwap, "BTC-USDT-SWAP", okx_frames("431"), 431.0, 4.31, 38632.3),
    ("kucoin", KuCoinFutures, "XBTUSDTM", kucoin_frames(4310), 4310.0, 4.31, 31766.0),
    ("coinbase", CoinbasePerp, "BIP-20DEC30-CDE", coinbase_frames("431"), 431.0, 4.31, 68925.0),
]
METAS = {"okx": OKX_META, "kucoin": KUCOIN_META, "coinbase": COINBASE_META}


@pytest.mark.parametrize(("venue", "cls", "native", "frames", "contracts", "base", "bid"), CASES, ids=[c[0] for c in CASES])
async def test_contract_sizes_are_base_units_from_quote_to_signal_to_paper_fill_to_live_amount(
        venue: str, cls: type, native: str, frames: tuple[str, str], contracts: float, base: float, bid: float) -> None:
    meta = _meta(METAS[venue], native)
    symbols = SymbolMap()
    parser = cls("perp", symbols, [meta])
    ticker, depth = frames

    # 1. the frame's contracts are a Quote and a Book in base units
    [quote] = [e for e in parser.parse(ticker, RECV).events if isinstance(e, Quote)]
    assert quote.bid_size == pytest.approx(base, abs=1e-12) and quote.bid == bid
    [book] = [e for e in parser.parse(depth, RECV).events if isinstance(e, Book)]
    assert book.bids[0] == (bid, pytest.approx(base, abs=1e-12)) and book.bids[1][1] == pytest.approx((553 if venue == "kucoin" else 12) * meta.contract_size)

    # 2. the signal's size: the engine, sized by the listing, against a cheaper venue in base units
    signals: list[Signal] = []
    config = msgspec.convert({"detector": {"max_notional": 1e9}}, Config)
    engine = Engine(symbols, config, signals.append, clock_ns=lambda: RECV)
    engine.set_metadata([meta])
    other, iid = symbols.venue_id("binance"), quote.instrument
    engine.grow()
    engine.on_event(quote)
    engine.on_event(book)
    cheap = bid * 0.98
    engine.on_event(Book(other, iid, [(cheap - 1.0, 50.0)], [(cheap, 50.0)], RECV, RECV, 1))
    [sig] = [s for s in signals if s.event == "open"]
    assert (sig.buy_exchange, sig.sell_exchange) == ("binance", venue)
    assert sig.size == pytest.approx(base, abs=1e-9)  # 4.31 BTC: the sell leg's top bid (its next level is far below)

    # 3. a paper fill of the sell leg at that size: base units off the book
    rules = MarketRules(config)
    rules.set_metadata([meta])
    paper = PaperExecutor(EngineMarketView(engine), rules, lambda _v: 0.0, clock_ns=lambda: RECV)
    order = OrderRequest("c-1", 1, venue, meta.instrument, SELL, sig.size, bid)
    filled = paper.fill_now(order)
    assert filled.status == FILLED and [(f.qty, f.price) for f in filled.fills] == [(pytest.approx(base), bid)]

    # 4. the live order of that leg: ccxt's amount is the venue's contracts, and back
    ex = ccxt_exchange(venue)
    assert venue_amount(ex, meta.instrument, sig.size, bid) == contracts
    assert base_amount(ex, meta.instrument, contracts) == pytest.approx(base)
    out = io.StringIO()
    live = LiveExecutor({venue: ex}, dry_run=True, out=out, metadata={(venue, meta.instrument): meta})
    live._loaded.add(venue)  # markets set above, offline
    result = await live.execute(order)
    printed = json.loads(out.getvalue().removeprefix("DRY-RUN ORDER "))
    assert result.status == DRY_RUN and printed["amount"] == contracts and printed["base_qty"] == pytest.approx(base)


def test_okx_order_rounds_down_to_the_contract_lot_and_refuses_below_the_minimum() -> None:
    ex = ccxt_exchange("okx")
    # lotSz 0.01 contract = 0.0001 BTC: 4.31019 BTC is 431.019 contracts, ordered as 431.01
    assert venue_amount(ex, "BTC/USDT:USDT", 4.31019, 38632.3) == 431.01
    with pytest.raises(OrderSizeError, match="below the minimum size"):
        venue_amount(ex, "BTC/USDT:USDT", 0.00005, 38632.3)  # 0.005 contract < minSz 0.01
    with pytest.raises(OrderSizeError, match="notional"):
        venue_amount(ex, "BTC/USDT:USDT", 0.01, 38632.3, min_notional=1000.0)  # $386 < $1000
    # a fill as OKX reports it (fillSz in contracts), read by ccxt, is booked in BTC
    trade = ex.parse_trade({"instId": "BTC-USDT-SWAP", "tradeId": "7", "ordId": "9", "clOrdId": "c-1", "fillPx": "38632.3",
                            "fillSz": "431", "side": "sell", "fee": "-1.2", "feeCcy": "USDT", "ts": "1651761120004"},
                           ex.market("BTC/USDT:USDT"))
    live = LiveExecutor({"okx": ex}, dry_run=True, out=None)
    order = OrderRequest("c-1", 1, "okx", "BTC/USDT:USDT", SELL, 4.31, 38632.3)
    fill = live._fill(order, trade, 0, base_amount(ex, "BTC/USDT:USDT", 1.0))
    assert (fill.qty, fill.price) == (pytest.approx(4.31), 38632.3)


async def test_a_listing_that_disagrees_with_ccxt_on_the_contract_size_refuses_the_order() -> None:
    ex = ccxt_exchange("okx")
    wrong = msgspec.structs.replace(_meta(OKX_META, "BTC-USDT-SWAP"), contract_size=1.0)
    live = LiveExecutor({"okx": ex}, dry_run=True, out=None, metadata={("okx", "BTC/USDT:USDT"): wrong})
    live._loaded.add("okx")
    result = await live.execute(OrderRequest("c-2", 2, "okx", "BTC/USDT:USDT", SELL, 4.31, 38632.3))
    assert result.status == REJECTED and "disagrees" in result.reason


async def test_a_dry_run_without_the_venues_markets_prints_no_guessed_amount() -> None:
    import ccxt.async_support as ccxt_async

    from arbsniper.trading.live import point_at

    ex = ccxt_async.okx()
    point_at(ex, "http://127.0.0.1:9")  # nothing listens there: the markets cannot load
    out = io.StringIO()
    live = LiveExecutor({"okx": ex}, dry_run=True, out=out)
    try:
        result = await live.execute(OrderRequest("c-3", 3, "okx", "BTC/USDT:USDT", SELL, 4.31, 38632.3))
    finally:
        await ex.close()
    printed = json.loads(out.getvalue().removeprefix("DRY-RUN ORDER "))
    assert result.status == DRY_RUN and printed["amount"] is None and printed["base_qty"] == 4.31
    assert printed["precision"].startswith("not applied")
