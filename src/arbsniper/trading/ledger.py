"""The trading ledger: orders, fills, trades and their legs, balances, funding, in SQLite (WAL).

Durability is the point. Every order is written (``sent``) before it goes out; every fill is
committed together with the balances and trade state it changes, in one transaction with
``synchronous=FULL``, before the runner reports it or acts on it. So a ``kill -9`` at any moment
leaves a ledger that is consistent with itself: ``replay_balances`` (starting inventory + every
fill + every funding payment) equals the ``balances`` table, and orders still ``sent`` are the
ones whose fate the runner asks the executor about when it restarts.

One writer (the runner, through a single worker thread); any number of readers (the CLI, the
dashboard) on their own connections.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from arbsniper.instruments import parse_instrument
from arbsniper.trading.orders import BUY, SENT, Fill, OrderRequest, OrderResult
from arbsniper.trading.portfolio import CLOSED, Leg, Portfolio, Trade, balance_deltas, position_after

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trades (
    id INTEGER PRIMARY KEY,
    signal_id TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    buy_venue TEXT NOT NULL, sell_venue TEXT NOT NULL,
    buy_instrument TEXT NOT NULL, sell_instrument TEXT NOT NULL,
    currency TEXT NOT NULL, rate REAL NOT NULL,
    size REAL NOT NULL, net_bps REAL NOT NULL,
    status TEXT NOT NULL,
    opened_ns INTEGER NOT NULL, closed_ns INTEGER NOT NULL DEFAULT 0,
    cash REAL NOT NULL DEFAULT 0, fees REAL NOT NULL DEFAULT 0, funding REAL NOT NULL DEFAULT 0,
    leg_pnl REAL NOT NULL DEFAULT 0, mark_value REAL NOT NULL DEFAULT 0,
    ref_rate REAL NOT NULL DEFAULT 1,
    close_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS trades_status ON trades (status);
CREATE INDEX IF NOT EXISTS trades_opportunity ON trades (opportunity_id);
CREATE TABLE IF NOT EXISTS legs (
    trade_id INTEGER NOT NULL, venue TEXT NOT NULL, instrument TEXT NOT NULL,
    qty REAL NOT NULL, avg_price REAL NOT NULL, intended_price REAL NOT NULL,
    entry_qty REAL NOT NULL, entry_fees REAL NOT NULL, mark_price REAL NOT NULL,
    PRIMARY KEY (trade_id, venue, instrument)
);
CREATE TABLE IF NOT EXISTS orders (
    client_id TEXT PRIMARY KEY,
    trade_id INTEGER NOT NULL,
    venue TEXT NOT NULL, instrument TEXT NOT NULL, side TEXT NOT NULL,
    qty REAL NOT NULL, limit_price REAL, purpose TEXT NOT NULL,
    status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
    filled_qty REAL NOT NULL DEFAULT 0, avg_price REAL NOT NULL DEFAULT 0,
    venue_order_id TEXT NOT NULL DEFAULT '',
    created_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_status ON orders (status);
CREATE TABLE IF NOT EXISTS fills (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    fill_id TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL, trade_id INTEGER NOT NULL,
    venue TEXT NOT NULL, instrument TEXT NOT NULL, side TEXT NOT NULL,
    qty REAL NOT NULL, price REAL NOT NULL, fee REAL NOT NULL, fee_ccy TEXT NOT NULL,
    ts_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS fills_trade ON fills (trade_id);
CREATE TABLE IF NOT EXISTS balances (
    venue TEXT NOT NULL, asset TEXT NOT NULL,
    start REAL NOT NULL, amount REAL NOT NULL,
    PRIMARY KEY (venue, asset)
);
CREATE TABLE IF NOT EXISTS funding (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    trade_id INTEGER NOT NULL, venue TEXT NOT NULL, instrument TEXT NOT NULL,
    asset TEXT NOT NULL, amount REAL NOT NULL, ts_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refusals (
    reason TEXT PRIMARY KEY, count INTEGER NOT NULL
);
"""

TRADE_COLS = ("id", "signal_id", "opportunity_id", "kind", "buy_venue", "sell_venue", "buy_instrument",
              "sell_instrument", "currency", "rate", "size", "net_bps", "status", "opened_ns", "closed_ns",
              "cash", "fees", "funding", "leg_pnl", "mark_value", "ref_rate", "close_reason")
LEG_COLS = ("trade_id", "venue", "instrument", "qty", "avg_price", "intended_price", "entry_qty", "entry_fees",
            "mark_price")
ORDER_COLS = ("client_id", "trade_id", "venue", "instrument", "side", "qty", "limit_price", "purpose", "status",
              "reason", "filled_qty", "avg_price", "venue_order_id", "created_ns", "updated_ns")
FILL_COLS = ("fill_id", "client_id", "trade_id", "venue", "instrument", "side", "qty", "price", "fee", "fee_ccy",
             "ts_ns")


def ledger_path(data_dir: str | os.PathLike[str], mode: str = "paper") -> Path:
    """``trading-paper.sqlite`` / ``trading-live.sqlite`` in the data directory: never mixed."""
    return Path(data_dir).expanduser() / f"trading-{mode}.sqlite"


def trade_row(t: Trade) -> tuple:
    return tuple(getattr(t, c) for c in TRADE_COLS)


def leg_rows(t: Trade) -> list[tuple]:
    return [(t.id, leg.venue, leg.instrument, leg.qty, leg.avg_price, leg.intended_price, leg.entry_qty,
             leg.entry_fees, leg.mark_price) for leg in t.legs.values()]


def order_row(o: OrderRequest, now_ns: int) -> tuple:
    return (o.client_id, o.trade_id, o.venue, o.instrument, o.side, o.qty, o.limit_price, o.purpose, SENT,
            "", 0.0, 0.0, "", now_ns, now_ns)


class Ledger:
    """The SQLite ledger; methods that write run one transaction each."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            p = Path(path)
            if create:
                p.parent.mkdir(parents=True, exist_ok=True)
            elif not p.exists():
                raise FileNotFoundError(f"no trading ledger at {p}: run `arbsniper run` (or `arbsniper trader`) first")
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA busy_timeout=5000")
        if create:
            self.conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed fill survives not only a killed process but a power cut.
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def _tx(self, statements: Iterable[tuple[str, Any]]) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                if isinstance(params, list):
                    c.executemany(sql, params)
                else:
                    c.execute(sql, params)
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    # -- set-up ------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, **values: str) -> None:
        self._tx([("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", sorted(values.items()))])

    def seed(self, mode: str, inventory: dict[tuple[str, str], float]) -> bool:
        """Write the starting inventory into a new ledger; False (nothing written) when it has one."""
        if self.meta("created_ns") is not None:
            return False
        now = time.time_ns()
        self._tx([
            ("INSERT INTO meta (key, value) VALUES (?, ?)", [("created_ns", str(now)), ("mode", mode)]),
            ("INSERT INTO balances (venue, asset, start, amount) VALUES (?, ?, ?, ?)",
             [(v, a, x, x) for (v, a), x in sorted(inventory.items())]),
        ])
        return True

    def load_portfolio(self, portfolio: Portfolio) -> None:
        """Balances and every trade not yet closed (with its legs), as the ledger holds them."""
        for r in self.conn.execute("SELECT venue, asset, start, amount FROM balances"):
            portfolio.balances[(r[0], r[1])] = r[3]
            portfolio.start[(r[0], r[1])] = r[2]
        for r in self.conn.execute("SELECT * FROM trades WHERE status != ? ORDER BY id", (CLOSED,)):
            t = Trade(**{c: r[c] for c in TRADE_COLS})
            for lr in self.conn.execute("SELECT * FROM legs WHERE trade_id = ?", (t.id,)):
                inst = parse_instrument(lr["instrument"])
                t.legs[(lr["venue"], lr["instrument"])] = Leg(
                    lr["venue"], lr["instrument"], lr["qty"], lr["avg_price"], lr["intended_price"], lr["entry_qty"],
                    lr["entry_fees"], lr["mark_price"], inst.is_perp, inst.base, inst.quote, inst.settle)
            portfolio.trades[t.id] = t

    def next_trade_id(self) -> int:
        return int(self.conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM trades").fetchone()[0])

    def traded_opportunities(self, since_ns: int) -> set[str]:
        rows = self.conn.execute("SELECT opportunity_id FROM trades WHERE opened_ns >= ?", (since_ns,))
        return {r[0] for r in rows}

    def pending_orders(self) -> list[OrderRequest]:
        """Orders written as sent whose outcome was never recorded (the process died meanwhile)."""
        rows = self.conn.execute("SELECT * FROM orders WHERE status = ? ORDER BY created_ns", (SENT,))
        return [OrderRequest(r["client_id"], r["trade_id"], r["venue"], r["instrument"], r["side"], r["qty"],
                             r["limit_price"], r["purpose"]) for r in rows]

    # -- writes -------------------------------------------------------------------------------
    def open_trade(self, trade_row_: tuple, leg_rows_: list[tuple], orders: list[tuple]) -> None:
        """A new trade, its legs and its entry orders (status ``sent``), before any order goes out."""
        self._tx([
            (f"INSERT INTO trades ({', '.join(TRADE_COLS)}) VALUES ({', '.join('?' * len(TRADE_COLS))})", trade_row_),
            (f"INSERT INTO legs ({', '.join(LEG_COLS)}) VALUES ({', '.join('?' * len(LEG_COLS))})", leg_rows_),
            (f"INSERT INTO orders ({', '.join(ORDER_COLS)}) VALUES ({', '.join('?' * len(ORDER_COLS))})", orders),
        ])

    def add_orders(self, orders: list[tuple]) -> None:
        self._tx([(f"INSERT INTO orders ({', '.join(ORDER_COLS)}) VALUES ({', '.join('?' * len(ORDER_COLS))})", orders)])

    def record_result(self, result: OrderResult, trade_row_: tuple, leg_rows_: list[tuple],
                      balances: list[tuple[float, str, str]], now_ns: int) -> None:
        """An order's outcome: its fills, its state, and the balances and trade they changed."""
        o = result.request
        stmts: list[tuple[str, Any]] = [
            (f"INSERT OR IGNORE INTO fills ({', '.join(FILL_COLS)}) VALUES ({', '.join('?' * len(FILL_COLS))})",
             [(f.fill_id, f.client_id, o.trade_id, f.venue, f.instrument, f.side, f.qty, f.price, f.fee, f.fee_ccy,
               f.ts_ns) for f in result.fills]),
            ("UPDATE orders SET status = ?, reason = ?, filled_qty = ?, avg_price = ?, venue_order_id = ?,"
             " updated_ns = ? WHERE client_id = ?",
             (result.status, result.reason, result.filled_qty, result.avg_price, result.venue_order_id, now_ns,
              o.client_id)),
        ]
        stmts += self._trade_stmts(trade_row_, leg_rows_)
        if balances:
            stmts.append(("UPDATE balances SET amount = ? WHERE venue = ? AND asset = ?", balances))
            # A fill in an asset the inventory never listed starts that asset at zero.
            stmts.insert(0, ("INSERT OR IGNORE INTO balances (venue, asset, start, amount) VALUES (?, ?, 0, 0)",
                             [(v, a) for _, v, a in balances]))
        self._tx(stmts)

    def _trade_stmts(self, trade_row_: tuple, leg_rows_: list[tuple]) -> list[tuple[str, Any]]:
        sets = ", ".join(f"{c} = ?" for c in TRADE_COLS[1:])
        leg_sets = ", ".join(f"{c} = ?" for c in LEG_COLS[3:])
        return [
            (f"UPDATE trades SET {sets} WHERE id = ?", (*trade_row_[1:], trade_row_[0])),
            (f"UPDATE legs SET {leg_sets} WHERE trade_id = ? AND venue = ? AND instrument = ?",
             [(*r[3:], r[0], r[1], r[2]) for r in leg_rows_]),
        ]

    def update_trades(self, trades: list[tuple[tuple, list[tuple]]]) -> None:
        stmts: list[tuple[str, Any]] = []
        for tr, lr in trades:
            stmts += self._trade_stmts(tr, lr)
        if stmts:
            self._tx(stmts)

    def record_funding(self, payments: list[tuple[int, str, str, str, float, int]],
                       balances: list[tuple[float, str, str]], trades: list[tuple[tuple, list[tuple]]]) -> None:
        stmts: list[tuple[str, Any]] = [
            ("INSERT INTO funding (trade_id, venue, instrument, asset, amount, ts_ns) VALUES (?, ?, ?, ?, ?, ?)", payments),
            ("INSERT OR IGNORE INTO balances (venue, asset, start, amount) VALUES (?, ?, 0, 0)",
             [(v, a) for _, v, a in balances]),
            ("UPDATE balances SET amount = ? WHERE venue = ? AND asset = ?", balances),
        ]
        for tr, lr in trades:
            stmts += self._trade_stmts(tr, lr)
        self._tx(stmts)

    def count_refusals(self, counts: dict[str, int]) -> None:
        if counts:
            self._tx([("INSERT INTO refusals (reason, count) VALUES (?, ?)"
                       " ON CONFLICT (reason) DO UPDATE SET count = count + excluded.count", list(counts.items()))])

    # -- reads --------------------------------------------------------------------------------
    def replay_balances(self) -> dict[tuple[str, str], float]:
        """Balances recomputed from the starting inventory, every fill and every funding payment.

        It reads only the starting amounts and the ``fills`` and ``funding`` tables, never the
        ``balances`` table the runner keeps: the two must agree.
        """
        out = {(r[0], r[1]): r[2] for r in self.conn.execute("SELECT venue, asset, start FROM balances")}
        legs: dict[tuple[int, str, str], tuple[float, float]] = {}  # perp (trade, venue, instrument) -> (qty, avg)

        def add(v: str, a: str, x: float) -> None:
            out[(v, a)] = out.get((v, a), 0.0) + x

        for r in self.conn.execute("SELECT trade_id, venue, instrument, side, qty, price, fee, fee_ccy, fill_id, client_id,"
                                   " ts_ns FROM fills ORDER BY seq"):
            tid, v, name, side, q, p, fee, fee_ccy, fid, cid, ts = r
            inst = parse_instrument(name)
            realized = 0.0
            if inst.is_perp:
                qty, avg = legs.get((tid, v, name), (0.0, 0.0))
                qty, avg, realized = position_after(qty, avg, q if side == BUY else -q, p)
                legs[(tid, v, name)] = (qty, avg)
            fill = Fill(fid, cid, v, name, side, q, p, fee, fee_ccy, ts)
            for venue, asset, delta in balance_deltas(fill, inst.base, inst.quote, inst.settle, realized):
                add(venue, asset, delta)
        for v, a, x in self.conn.execute("SELECT venue, asset, amount FROM funding"):
            add(v, a, x)
        return out

    def balances(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT venue, asset, start, amount FROM balances ORDER BY venue, asset")]

    def trades(self, limit: int = 50, status: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM trades"
        params: tuple = ()
        if status is not None:
            sql += " WHERE status = ?"
            params = (status,)
        rows = [dict(r) for r in self.conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))]
        for r in rows:
            r["pnl"] = r["cash"] - r["fees"] + r["funding"] + r["mark_value"]
        return rows

    def positions(self) -> list[dict[str, Any]]:
        """Every trade not yet closed, with its legs and their last marks."""
        rows = [dict(r) for r in self.conn.execute("SELECT * FROM trades WHERE status != ? ORDER BY id", (CLOSED,))]
        for r in rows:
            r["pnl"] = r["cash"] - r["fees"] + r["funding"] + r["mark_value"]
            r["legs"] = self.legs(r["id"])
        return rows

    def legs(self, trade_id: int) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM legs WHERE trade_id = ?", (trade_id,))]

    def fills(self, trade_id: int | None = None) -> list[dict[str, Any]]:
        if trade_id is None:
            cur = self.conn.execute("SELECT * FROM fills ORDER BY seq")
        else:
            cur = self.conn.execute("SELECT * FROM fills WHERE trade_id = ? ORDER BY seq", (trade_id,))
        return [dict(r) for r in cur]

    def orders(self, trade_id: int) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM orders WHERE trade_id = ? ORDER BY created_ns, client_id", (trade_id,))]

    def refusals(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.conn.execute("SELECT reason, count FROM refusals ORDER BY count DESC")}


def equity_curve(ledger: Ledger, since_ns: int = 0, points: int = 200) -> list[list[float]]:
    """[[closed at (ms), cumulative realized P&L in the reference currency]] of the trades closed
    since ``since_ns``, thinned to at most ``points`` (the page's equity curve)."""
    rows = ledger.conn.execute(
        "SELECT closed_ns, (cash - fees + funding + mark_value) * ref_rate FROM trades"
        " WHERE status = ? AND opened_ns >= ? ORDER BY closed_ns", (CLOSED, since_ns)).fetchall()
    out, total = [], 0.0
    for closed_ns, pnl in rows:
        total += pnl
        out.append([closed_ns // 1_000_000, round(total, 6)])
    step = max(1, -(-len(out) // points))
    return out[::-1][::step][::-1]


def pnl_summary(ledger: Ledger, reference: str = "USD", halted: bool | None = None, since_ns: int = 0) -> dict[str, Any]:
    """P&L overall and per venue pair, in the reference currency, as a JSON-able dict.

    ``since_ns``: only the trades opened since then (a run's session); balances and refusals
    are the ledger's whole life either way.

    ``realized`` sums closed trades; ``open`` is the marked P&L of trades not yet closed (as of
    their last mark). Each trade converts at its own ``ref_rate`` (its currency in the reference).
    """
    rows = ledger.conn.execute(
        "SELECT kind, buy_venue, sell_venue, status, cash, fees, funding, leg_pnl, mark_value, ref_rate, close_reason"
        " FROM trades WHERE opened_ns >= ?", (since_ns,)).fetchall()
    pairs: dict[tuple[str, str, str], dict[str, Any]] = {}
    tot = {"trades": 0, "closed": 0, "open": 0, "wins": 0, "losses": 0, "realized": 0.0, "open_pnl": 0.0,
           "fees": 0.0, "funding": 0.0, "leg_pnl": 0.0}
    for kind, bv, sv, status, cash, fees, funding, leg_pnl, unreal, ref, reason in rows:
        p = pairs.setdefault((bv, sv, kind), {"pair": f"{bv}>{sv}", "buy_venue": bv, "sell_venue": sv, "kind": kind,
                                              **{k: type(v)() for k, v in tot.items()}, "not_filled": 0})
        pnl = (cash - fees + funding + unreal) * ref
        for acc in (p, tot):
            acc["trades"] += 1
            acc["fees"] += fees * ref
            acc["funding"] += funding * ref
            acc["leg_pnl"] += leg_pnl * ref
            if status == CLOSED:
                acc["closed"] += 1
                acc["realized"] += pnl
                if reason != "not_filled":
                    acc["wins" if pnl > 0 else "losses"] += 1
            else:
                acc["open"] += 1
                acc["open_pnl"] += pnl
        if reason == "not_filled":
            p["not_filled"] += 1
    for acc in [*pairs.values(), tot]:
        acc["total"] = acc["realized"] + acc["open_pnl"]
        for k in ("realized", "open_pnl", "total", "fees", "funding", "leg_pnl"):
            acc[k] = round(acc[k], 6)
    by_venue: dict[str, dict[str, dict[str, float]]] = {}
    for b in ledger.balances():
        by_venue.setdefault(b["venue"], {})[b["asset"]] = {"start": b["start"], "amount": round(b["amount"], 10),
                                                           "change": round(b["amount"] - b["start"], 10)}
    return {
        "mode": ledger.meta("mode") or "paper",
        "currency": reference,
        **tot,
        "halted": halted,
        "pairs": sorted(pairs.values(), key=lambda p: -p["total"]),
        "balances": by_venue,
        "refusals": ledger.refusals(),
    }
