"""The strategy runner: signals in, validated and sized trades out, both legs at once (SPEC §8).

This module is the loop and the trade lifecycle; the decisions live next to it:

- ``planning.plan_trade``: whether to trade a signal and how much (every refusal has a reason);
- ``legrisk``: what to send when the legs filled unequally (unwind or hedge) or a trade exits.

Both legs go out concurrently as IOC limit orders at the signal's prices ± the tolerance. A
trade left with unhedged quantity after ``legrisk.MAKE_WHOLE_ATTEMPTS`` rounds is marked
``unhedged``, logged as an error and retried every tick until it is flat: never left silently.

Perpetual trades stay open and close when the basis has converged (``exit_basis_bps``) or after
``holding_period_s``; while open they are marked to market (longs at the bid, shorts at the ask)
and accrue funding every tick. Every order, fill and balance change goes through the ledger
before it is acted on; on start the runner reconciles the ledger (see ``start``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TextIO, TypeVar

from arbsniper.bus.inproc import Subscription
from arbsniper.config import VENUE_NAMES, Config
from arbsniper.metrics import OPEN_POSITIONS, TRADER_SIGNALS, TRADES, TRADES_REFUSED, TRADING_HALTED, Part
from arbsniper.model import Signal
from arbsniper.trading import risk as rk
from arbsniper.trading.ledger import Ledger, equity_curve, leg_rows, order_row, pnl_summary, trade_row
from arbsniper.trading.legrisk import Fix, dust, legs_flat, make_whole
from arbsniper.trading.market import MarketRules, MarketView
from arbsniper.trading.orders import (
    BUY,
    ENTRY,
    REJECTED,
    SELL,
    Executor,
    OrderRequest,
    OrderResult,
)
from arbsniper.trading.planning import Plan, plan_trade
from arbsniper.trading.portfolio import (
    CLOSED,
    EXECUTING,
    EXITING,
    OPEN,
    PERP_TRADE,
    SPOT_TRADE,
    UNHEDGED,
    Leg,
    Portfolio,
    Trade,
    new_trade,
)
from arbsniper.trading.risk import KillSwitch, RiskManager
from arbsniper.trading.sources import Delivery, InprocSource, SignalSource

log = logging.getLogger("arbsniper.trading")

_T = TypeVar("_T")

STOP_TIMEOUT_S = 15.0
LATEST_TRADES = 10  # trades with their legs and fills in the P&L summary (the page's trade list)


class Runner:
    """Consumes signals from a ``SignalSource`` and trades them through an ``Executor``."""

    def __init__(self, config: Config, executor: Executor, market: MarketView, ledger: Ledger, *,
                 kill: KillSwitch, out: TextIO | None = sys.stderr, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.config = config
        self.cfg = config.trading
        self.executor = executor
        self.market = market
        self.ledger = ledger
        self.out = out
        self.clock_ns = clock_ns
        self.rules = MarketRules(config)
        self.portfolio = Portfolio(self.cfg.perp_leverage)
        self.risk = RiskManager(self.cfg, kill, self.portfolio, clock_ns)
        self.reference = config.conversion.reference
        self.traded: set[str] = set()  # opportunity ids already traded
        self.refused: Counter[str] = Counter()
        self._refused_unflushed: Counter[str] = Counter()
        self.signals_seen = 0
        self.trades_opened = 0
        self._db_pool = ThreadPoolExecutor(1, thread_name_prefix="ledger")
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy: set[int] = set()
        self._leg_events: dict[int, str] = {}  # trade id -> "unwound" / "hedged"
        self._next_id = 1
        self._order_seq = 0
        self._id_prefix = "as"
        self._last_tick_ns = 0
        self._started = False
        self._reader: Ledger | None = None
        self.started_ns = time.time_ns()  # the session: trades opened since then
        self._final_pnl: dict[str, Any] | None = None  # set by stop(): the P&L as the ledger closed

    # -- plumbing ------------------------------------------------------------------------------
    async def _db(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run a ledger call on the one ledger thread: ordered, and never blocking the loop."""
        return await asyncio.get_running_loop().run_in_executor(self._db_pool, fn, *args)

    def _say(self, line: str) -> None:
        if self.out is not None:
            self.out.write(line + "\n")
            self.out.flush()

    def _new_client_id(self, trade_id: int, tag: str) -> str:
        self._order_seq += 1
        return f"{self._id_prefix}{trade_id}{tag}{self._order_seq}"

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the ledger and reconcile it with reality before taking any signal.

        Reconciliation: the ``balances`` table must equal the starting inventory replayed with
        every fill and funding payment; orders still ``sent`` (in flight at a crash) are resolved
        through the executor (paper: they never arrived; live: the venue is asked); trades caught
        mid-entry or mid-exit are made whole or closed, or marked ``unhedged`` and retried.
        """
        if self._started:
            return
        self._started = True
        venue_balances = None
        fetch = getattr(self.executor, "fetch_balances", None)
        if self.executor.name == "live" and fetch is not None:
            venue_balances = await fetch()  # live: the venues' own balances are the starting inventory
            inventory = venue_balances
        else:
            venues = set(VENUE_NAMES) | {v for v in self.cfg.inventory if v != "default"}
            inventory = {(v, a): x for v in sorted(venues) for a, x in self.cfg.starting_inventory(v).items()}
        if await self._db(self.ledger.seed, self.executor.name, inventory):
            log.info("ledger created", extra={"fields": {"path": self.ledger.path, "mode": self.executor.name}})
        await self._db(self.ledger.load_portfolio, self.portfolio)
        # Who marks the open positions: `arbsniper positions` says when it is a run that has stopped.
        await self._db(lambda: self.ledger.set_meta(run_pid=str(os.getpid()), run_stopped_ns="0"))
        self._next_id = await self._db(self.ledger.next_trade_id)
        self._order_seq = int((await self._db(lambda: self.ledger.conn.execute("SELECT COUNT(*) FROM orders").fetchone()))[0])
        created = int(self.ledger.meta("created_ns") or 0)
        self._id_prefix = "as" + _base36(created // 1_000_000 % (36**5))
        now = self.clock_ns()
        self.traded = await self._db(self.ledger.traded_opportunities, now - rk.DAY_NS)
        day_start = now // rk.DAY_NS * rk.DAY_NS
        rows = await self._db(lambda: self.ledger.conn.execute(
            "SELECT cash - fees + funding, ref_rate, closed_ns FROM trades WHERE status = ? AND closed_ns >= ?",
            (CLOSED, day_start)).fetchall())
        for pnl, ref, closed_ns in rows:
            self.risk.add_realized(pnl * ref, closed_ns)
        await self.reconcile()
        if venue_balances is not None:
            for key in sorted(set(venue_balances) | set(self.portfolio.balances)):
                ours, theirs = self.portfolio.balances.get(key, 0.0), venue_balances.get(key, 0.0)
                if abs(ours - theirs) > 1e-8 * max(1.0, abs(theirs)):
                    # Deposits, withdrawals or trading outside arbsniper: the ledger cannot know.
                    log.warning("venue balance differs from the ledger", extra={"fields": {
                        "venue": key[0], "asset": key[1], "ledger": ours, "venue_reports": theirs}})
        self._last_tick_ns = self.clock_ns()

    async def reconcile(self) -> dict[str, int]:
        """Bring the ledger, the portfolio and the executor's reality into agreement (see ``start``)."""
        replayed = await self._db(self.ledger.replay_balances)
        mismatched = 0
        for key in set(replayed) | set(self.portfolio.balances):
            a, b = replayed.get(key, 0.0), self.portfolio.balances.get(key, 0.0)
            if abs(a - b) > 1e-6 * max(1.0, abs(a)):
                mismatched += 1
                log.error("balance does not reconcile; using the fills", extra={"fields": {
                    "venue": key[0], "asset": key[1], "table": b, "from_fills": a}})
                self.portfolio.balances[key] = a
        pending = await self._db(self.ledger.pending_orders)
        for req in pending:
            trade = self.portfolio.trades.get(req.trade_id)
            result = await self.executor.recover(req)
            if trade is None:
                log.error("pending order of a closed trade", extra={"fields": {"client_id": req.client_id}})
                continue
            await self._record(trade, result)
        resolved = 0
        for trade in list(self.portfolio.trades.values()):
            if trade.status in (EXECUTING, UNHEDGED):
                resolved += 1
                await self._settle(trade)
            elif trade.status == EXITING:
                resolved += 1
                await self._exit(trade, trade.close_reason or "exit")
        if pending or resolved or mismatched:
            log.warning("reconciled ledger", extra={"fields": {
                "pending_orders": len(pending), "trades_resolved": resolved, "balance_mismatches": mismatched,
                "open_trades": len(self.portfolio.trades)}})
        return {"pending_orders": len(pending), "trades_resolved": resolved, "balance_mismatches": mismatched}

    async def consume(self, sub: Subscription[Signal]) -> None:
        """``App.add_consumer`` entry point: trade the in-process signal queue until it closes."""
        await self.run(InprocSource(sub))

    async def run(self, source: SignalSource) -> None:
        """Trade signals from ``source`` until it closes (or this task is cancelled)."""
        await self.start()
        ticker = asyncio.create_task(self._tick_loop(), name="trader-tick")
        try:
            while True:
                batch = await source.receive()
                if not batch:
                    break
                await self.on_batch(batch)
                await source.ack(batch)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await self.stop()

    async def stop(self) -> None:
        """Let trades in flight finish, write the last marks, close the ledger."""
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=STOP_TIMEOUT_S)
            for t in pending:
                t.cancel()
        with contextlib.suppress(Exception):
            await self.tick(trade=False)
        self._db_pool.shutdown(wait=True)
        with contextlib.suppress(Exception):  # the last figures, for readers after the stop (exit summary, page)
            self._final_pnl = self.pnl_summary()
        with contextlib.suppress(Exception):
            self.ledger.set_meta(run_stopped_ns=str(time.time_ns()))
        if self._reader is not None:
            self._reader.close()
        self.ledger.close()

    # -- signals -------------------------------------------------------------------------------
    async def on_batch(self, batch: list[Delivery]) -> None:
        for d in batch:
            await self.on_signal(d.signal)

    async def on_signal(self, s: Signal) -> Trade | None:
        """Validate, size and start one trade; returns it, or None (refusals are counted)."""
        on_signal = getattr(self.market, "on_signal", None)
        if on_signal is not None:
            on_signal(s)
        if s.event not in ("open", "update"):
            return None
        self.signals_seen += 1
        if s.net_bps < self.cfg.min_net_bps:
            plan: Plan | str = rk.BELOW_MIN_EDGE
        elif self.cfg.min_capture is not None and (s.p_capture is None or s.p_capture < self.cfg.min_capture):
            plan = rk.LOW_CAPTURE  # [trading] min_capture: too likely gone before both legs land
        else:
            plan = self.plan(s)
        if isinstance(plan, str):
            self.refused[plan] += 1
            self._refused_unflushed[plan] += 1
            return None
        return await self._open(plan)

    def plan(self, s: Signal) -> Plan | str:
        """The trade to make for a signal, or the reason not to make one (``planning.plan_trade``)."""
        return plan_trade(s, self.clock_ns(), self.cfg, rules=self.rules, market=self.market,
                          portfolio=self.portfolio, risk=self.risk, traded=self.traded)

    async def _open(self, plan: Plan) -> Trade:
        s = plan.signal
        now = self.clock_ns()
        tid = self._next_id
        self._next_id += 1
        trade = new_trade(tid, f"{s.id}#{s.event}@{s.timestamp}", s.id, s.buy_exchange, s.sell_exchange,
                          s.buy_instrument, s.sell_instrument, s.conversion_rate or 1.0, plan.size, s.net_bps,
                          s.buy_price, s.sell_price, now)
        trade.ref_rate = self.market.rate(trade.currency, now)
        buy = OrderRequest(self._new_client_id(tid, "b"), tid, s.buy_exchange, s.buy_instrument, BUY, plan.size,
                           plan.buy_limit, ENTRY)
        sell = OrderRequest(self._new_client_id(tid, "s"), tid, s.sell_exchange, s.sell_instrument, SELL, plan.size,
                            plan.sell_limit, ENTRY)
        pf = self.portfolio
        for venue, asset, amount in plan.reservations:
            pf.reserve(venue, asset, amount)
        for venue, notional in plan.in_flight:
            pf.in_flight[venue] = pf.in_flight.get(venue, 0.0) + notional
        pf.trades[tid] = trade
        self.traded.add(s.id)
        self.trades_opened += 1
        try:
            await self._db(self.ledger.open_trade, trade_row(trade), leg_rows(trade),
                           [order_row(buy, now), order_row(sell, now)])
        except Exception:
            self._release(plan)
            del pf.trades[tid]
            self._ledger_failed()
            raise
        self._say(f"TRADE  t{tid} {trade.kind} {s.symbol} buy {s.buy_exchange} @ {s.buy_price:.6g} sell "
                  f"{s.sell_exchange} @ {s.sell_price:.6g} size {plan.size:.6g} (signal net {s.net_bps:.1f} bps)")
        task = asyncio.create_task(self._enter(trade, buy, sell, plan), name=f"trade:{tid}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return trade

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("trade task failed", exc_info=task.exception())

    def _release(self, plan: Plan) -> None:
        pf = self.portfolio
        for venue, asset, amount in plan.reservations:
            pf.release(venue, asset, amount)
        for venue, notional in plan.in_flight:
            left = pf.in_flight.get(venue, 0.0) - notional
            if left <= 1e-9:
                pf.in_flight.pop(venue, None)
            else:
                pf.in_flight[venue] = left

    def _ledger_failed(self) -> None:
        self.risk.internal_halt = rk.LEDGER_ERROR
        log.exception("ledger write failed: trading halted (memory and ledger may disagree)")

    # -- execution -----------------------------------------------------------------------------
    async def _enter(self, trade: Trade, buy: OrderRequest, sell: OrderRequest, plan: Plan) -> None:
        self._busy.add(trade.id)
        try:
            try:
                await asyncio.gather(self._send(trade, buy), self._send(trade, sell))
            finally:
                self._release(plan)
            await self._settle(trade)
        finally:
            self._busy.discard(trade.id)

    async def _send(self, trade: Trade, req: OrderRequest) -> OrderResult:
        try:
            result = await self.executor.execute(req)
        except Exception as exc:  # the executor's own failure: nothing is known to have filled
            log.error("order failed", extra={"fields": {"client_id": req.client_id, "error": repr(exc)}})
            result = OrderResult(req, REJECTED, reason=f"error: {type(exc).__name__}")
        await self._record(trade, result)
        return result

    async def _record(self, trade: Trade, result: OrderResult) -> None:
        """Apply an order's fills, commit them to the ledger, then report them."""
        pf = self.portfolio
        changed: set[tuple[str, str]] = set()
        for f in result.fills:
            changed.update(pf.apply_fill(trade, f, result.request.purpose))
        if result.fills:
            self._mark(trade, self.clock_ns())
        balances = [(pf.balances[k], k[0], k[1]) for k in sorted(changed)]
        try:
            await self._db(self.ledger.record_result, result, trade_row(trade), leg_rows(trade), balances,
                           self.clock_ns())
        except Exception:
            self._ledger_failed()
            raise
        r = result.request
        for f in result.fills:
            self._say(f"FILL   t{trade.id} {r.purpose:<6} {f.venue:<11} {f.side:<4} {f.qty:.6g} {f.instrument} @ {f.price:.8g}"
                      f" fee {f.fee:.6g} {f.fee_ccy} [{f.fill_id}]")
        if not result.fills:
            self._say(f"MISS   t{trade.id} {r.purpose:<6} {r.venue:<11} {r.side:<4} {r.qty:.6g} {r.instrument}"
                      f" {result.status}: {result.reason}")

    async def _make_whole(self, trade: Trade) -> bool:
        """Leg risk (``legrisk.make_whole``): market orders until the trade has no unhedged quantity."""
        return await make_whole(trade, self._submit, rules=self.rules, portfolio=self.portfolio,
                                hedge_first=self.cfg.leg_risk == "hedge", leg_events=self._leg_events)

    async def _submit(self, trade: Trade, fixes: list[Fix]) -> None:
        """Write the orders as sent, then send them all at once (each one's fills recorded as they come)."""
        orders = [OrderRequest(self._new_client_id(trade.id, f.tag), trade.id, f.venue, f.instrument, f.side, f.qty,
                               None, f.purpose) for f in fixes]
        now = self.clock_ns()
        try:
            await self._db(self.ledger.add_orders, [order_row(o, now) for o in orders])
        except Exception:
            self._ledger_failed()
            raise
        await asyncio.gather(*(self._send(trade, o) for o in orders))

    async def _settle(self, trade: Trade) -> None:
        """After the entry legs (or at restart): make the trade whole, then open or close it."""
        was_unhedged = trade.status == UNHEDGED
        if not await self._make_whole(trade):
            if not was_unhedged:
                log.error("trade left unhedged; retrying every tick", extra={"fields": {
                    "trade": trade.id, "imbalance": trade.imbalance(), "pair": trade.pair}})
            trade.status = UNHEDGED
            self._mark(trade, self.clock_ns())
            await self._save(trade)
            self._say(f"UNHEDGED t{trade.id} {trade.pair} imbalance {trade.imbalance():+.6g}: retrying")
            return
        entered = trade.buy_leg.entry_qty > 0 or trade.sell_leg.entry_qty > 0
        if trade.kind == PERP_TRADE and not self._legs_flat(trade):
            trade.status = OPEN
            self._mark(trade, self.clock_ns())
            await self._save(trade)
            return
        unfilled = "dry_run" if self.executor.name == "dry-run" else "not_filled"
        await self._close(trade, self._leg_events.get(trade.id, "completed" if entered else unfilled))

    def _legs_flat(self, trade: Trade) -> bool:
        return legs_flat(trade, dust(trade, self.rules))

    async def _exit(self, trade: Trade, reason: str) -> None:
        """Close every leg of a perpetual trade at market."""
        self._busy.add(trade.id)
        try:
            if trade.status != EXITING:
                trade.status = EXITING
                trade.close_reason = reason
                await self._save(trade)
                self._say(f"EXIT   t{trade.id} {trade.pair} {trade.buy_instrument}: {reason}")
            if await self._make_whole(trade) and self._legs_flat(trade):
                await self._close(trade, reason)
            else:
                log.error("exit incomplete; retrying every tick", extra={"fields": {
                    "trade": trade.id, "legs": {f"{k[0]}:{k[1]}": leg.qty for k, leg in trade.legs.items()}}})
        finally:
            self._busy.discard(trade.id)

    async def _close(self, trade: Trade, reason: str) -> None:
        now = self.clock_ns()
        trade.status = CLOSED
        trade.closed_ns = now
        trade.close_reason = reason
        trade.mark_value = 0.0
        trade.ref_rate = self.market.rate(trade.currency, now)
        self.portfolio.trades.pop(trade.id, None)
        self._leg_events.pop(trade.id, None)
        self.risk.add_realized(trade.realized * trade.ref_rate, now)
        await self._save(trade)
        leg = f" (leg risk {trade.leg_pnl:+.4f})" if trade.leg_pnl else ""
        self._say(f"CLOSED t{trade.id} {trade.pair} {trade.buy_instrument} {reason}: pnl {trade.realized:+.4f} "
                  f"{trade.currency}, fees {trade.fees:.4f}{leg}")

    async def _save(self, trade: Trade) -> None:
        try:
            await self._db(self.ledger.update_trades, [(trade_row(trade), leg_rows(trade))])
        except Exception:
            self._ledger_failed()
            raise

    # -- marking, funding, exits -----------------------------------------------------------------
    def _mark(self, trade: Trade, now: int) -> None:
        """Mark what is open to market: longs at the bid, shorts at the ask (what closing would get)."""
        value = 0.0
        if trade.kind == SPOT_TRADE:
            net = trade.imbalance()
            if abs(net) > dust(trade, self.rules):
                leg = trade.buy_leg if net > 0 else trade.sell_leg
                value = net * self._mark_price(leg, net, now) * trade.factor(leg.instrument)
        else:
            for leg in trade.legs.values():
                if leg.qty:
                    value += leg.qty * self._mark_price(leg, leg.qty, now) * trade.factor(leg.instrument)
        trade.mark_value = value
        trade.ref_rate = self.market.rate(trade.currency, now)

    def _mark_price(self, leg: Leg, qty: float, now: int) -> float:
        book = self.market.book(leg.venue, leg.instrument, now)
        side = (book.bids if qty > 0 else book.asks) if book is not None else None
        if side:
            leg.mark_price = side[0][0]
        return leg.mark_price or leg.avg_price

    def _exit_reason(self, trade: Trade, now: int) -> str | None:
        if now - trade.opened_ns >= self.cfg.holding_period_s * 1e9:
            return "holding_period"
        a = self.market.book(trade.buy_venue, trade.buy_instrument, now)
        b = self.market.book(trade.sell_venue, trade.sell_instrument, now)
        if a is None or b is None or not (a.bids and a.asks and b.bids and b.asks):
            return None
        mid_a = (a.bids[0][0] + a.asks[0][0]) / 2
        mid_b = (b.bids[0][0] + b.asks[0][0]) / 2 * trade.rate
        basis_bps = (mid_b - mid_a) / mid_a * 1e4
        return "converged" if basis_bps <= self.cfg.exit_basis_bps else None

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.mark_every_s)
            try:
                await self.tick()
            except Exception:
                log.exception("trader tick failed")

    async def tick(self, trade: bool = True) -> None:
        """Mark, accrue funding, exit, retry what is unhedged, flush counters (every ``mark_every_s``)."""
        now = self.clock_ns()
        dt_h = max(0, now - self._last_tick_ns) / 3.6e12
        self._last_tick_ns = now
        pf = self.portfolio
        payments: list[tuple[int, str, str, str, float, int]] = []
        changed: set[tuple[str, str]] = set()
        for t in list(pf.trades.values()):
            self._mark(t, now)
            if t.kind == PERP_TRADE and t.status in (OPEN, EXITING, UNHEDGED) and dt_h > 0:
                for leg in t.legs.values():
                    rate_h = self.market.funding_rate_h(leg.venue, leg.instrument) if leg.qty else 0.0
                    if rate_h:
                        # Longs pay a positive rate, shorts receive it.
                        amount = -leg.qty * (leg.mark_price or leg.avg_price) * rate_h * dt_h
                        changed.add(pf.apply_funding(t, leg, amount))
                        payments.append((t.id, leg.venue, leg.instrument, leg.settle or leg.quote, amount, now))
        marks = [(trade_row(t), leg_rows(t)) for t in pf.trades.values()]
        if payments:
            await self._db(self.ledger.record_funding, payments,
                           [(pf.balances[k], k[0], k[1]) for k in sorted(changed)], marks)
        elif marks:
            await self._db(self.ledger.update_trades, marks)
        if self._refused_unflushed:
            counts, self._refused_unflushed = dict(self._refused_unflushed), Counter()
            await self._db(self.ledger.count_refusals, counts)
        if not trade:
            return
        halt = self.risk.kill.state()
        flatten = bool(halt and halt.get("flatten"))
        for t in list(pf.trades.values()):
            if t.id in self._busy:
                continue
            if t.status == UNHEDGED:
                self._spawn(self._retry_settle(t), t.id)
            elif t.status == EXITING:
                self._spawn(self._exit(t, t.close_reason or "exit"), t.id)
            elif t.status == OPEN:
                reason = "flatten" if flatten else self._exit_reason(t, now)
                if reason:
                    self._spawn(self._exit(t, reason), t.id)

    async def _retry_settle(self, trade: Trade) -> None:
        self._busy.add(trade.id)
        try:
            await self._settle(trade)
        finally:
            self._busy.discard(trade.id)

    def _spawn(self, coro: Any, trade_id: int) -> None:
        self._busy.add(trade_id)
        task = asyncio.create_task(coro, name=f"trade:{trade_id}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    # -- reporting -------------------------------------------------------------------------------
    def pnl_summary(self) -> dict[str, Any]:
        """P&L overall and per venue pair (JSON-able; the dashboard shows it), from the ledger;
        after ``stop()``, the figures as they were when the ledger closed."""
        if self._final_pnl is not None:
            return self._final_pnl
        if self._reader is None:
            self._reader = self.ledger if self.ledger.path == ":memory:" else Ledger(self.ledger.path, create=False)
        out = pnl_summary(self._reader, self.reference, halted=self.risk.halted() is not None)
        session = pnl_summary(self._reader, self.reference, since_ns=self.started_ns)
        out["session"] = {k: v for k, v in session.items() if k not in ("balances", "refusals", "halted", "mode")}
        out["equity"] = equity_curve(self._reader, self.started_ns)
        latest = self._reader.trades(limit=LATEST_TRADES)
        for t in latest:
            t["legs"] = self._reader.legs(t["id"])
            t["fills"] = self._reader.fills(t["id"])
        out["latest"] = latest
        out["signals_seen"] = self.signals_seen
        out["refused_this_run"] = dict(self.refused)
        return out

    def samples(self) -> list[Part]:
        """For ``/metrics`` (the trader's own, or the embedded run's)."""
        return [TRADER_SIGNALS(self.signals_seen), TRADES(self.trades_opened), TRADES_REFUSED,
                *(TRADES_REFUSED(n, reason=r) for r, n in sorted(self.refused.items())),
                OPEN_POSITIONS(len(self.portfolio.trades)), TRADING_HALTED(0.0 if self.risk.halted() is None else 1.0)]

    def stats(self) -> dict[str, Any]:
        return {"signals": self.signals_seen, "trades": self.trades_opened, "open": len(self.portfolio.trades),
                "refused": dict(self.refused), "halted": self.risk.halted()}


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def embedded_runner(config: Config, engine: Any, *, executor: Executor | None = None, ledger: Ledger | None = None,
                    out: TextIO | None = sys.stderr) -> Runner:
    """The runner of ``arbsniper run``: reads the engine's books; paper executor unless given one."""
    from arbsniper.trading.ledger import ledger_path
    from arbsniper.trading.market import EngineMarketView
    from arbsniper.trading.paper import PaperExecutor
    from arbsniper.trading.risk import halt_path

    market = EngineMarketView(engine)
    if executor is None:
        executor = PaperExecutor(market, MarketRules(config), config.trading.latency_s)
    if ledger is None:
        ledger = Ledger(ledger_path(config.data_dir, executor.name))
    return Runner(config, executor, market, ledger, kill=KillSwitch(halt_path(config.data_dir)), out=out)
