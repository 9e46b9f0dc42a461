"""What ``arbsniper run`` shows in a terminal: one live view refreshed in place, and a summary on exit.

On a TTY (without ``--verbose`` or ``--json``) the event lines would scroll the dashboard URL away
in a second, so ``run`` draws this view instead (``rich``): venues up / total, messages and
signals per second, the best open opportunities, the session's paper P&L, the warnings of the
last minute counted by kind, and the dashboard URL, always on screen. ``LiveView`` is a cold-path
consumer of its own signal queue; it redraws from the asyncio loop (no refresh thread).
``exit_summary`` is printed whatever the mode.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from arbsniper.bus.inproc import Subscription
from arbsniper.logs import WarningTally
from arbsniper.model import Signal

if TYPE_CHECKING:
    from arbsniper.engine import Engine

REFRESH_S = 0.5
TOP_N = 8


def _dash(x: float | None, fmt: str) -> str:
    return "–" if x is None else format(x, fmt)


def base_of(instrument: str) -> str:
    """The size unit of an instrument: its base asset (``SOL/USDT:USDT`` → ``SOL``)."""
    return instrument.split("/", 1)[0]


class SessionTally:
    """What a run saw, for the live view and the exit summary: open opportunities, counts, rates."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.open: dict[str, tuple[Signal, int]] = {}  # opportunity id -> (latest signal, opened at ms)
        self.opened = 0
        self.closed = 0
        self.signals = 0

    def apply(self, batch: list[Signal]) -> None:
        self.signals += len(batch)
        for s in batch:
            if s.event == "close":
                self.closed += 1
                self.open.pop(s.id, None)
            elif s.event == "open":
                self.opened += 1
                self.open[s.id] = (s, s.timestamp)
            else:
                opened_at = self.open.get(s.id, (s, s.timestamp))[1]
                self.open[s.id] = (s, opened_at)

    def top(self, n: int = TOP_N) -> list[tuple[Signal, int]]:
        return sorted(self.open.values(), key=lambda t: -t[0].net_bps)[:n]


class Rate:
    """Per-second rate of a growing counter between two reads."""

    def __init__(self) -> None:
        self._last: tuple[float, int] | None = None
        self.value = 0.0

    def update(self, count: int) -> float:
        now = time.monotonic()
        if self._last is not None and now > self._last[0]:
            self.value = (count - self._last[1]) / (now - self._last[0])
        self._last = (now, count)
        return self.value


class LiveView:
    """The compact live view of a run on a TTY (see the module docstring)."""

    def __init__(self, engine: Engine, processed: list[int], pnl: Callable[[], Mapping[str, Any] | None] | None,
                 console: Console, tally: WarningTally, bases: tuple[str, ...] = ()) -> None:
        from arbsniper.web.hub import EngineView

        self.market = EngineView(engine, bases)
        self.processed = processed
        self.pnl = pnl
        self.console = console
        self.warnings = tally
        self.session = SessionTally()
        self.url: str | None = None
        self._msgs = Rate()
        self._sigs = Rate()

    async def consume(self, sub: Subscription[Signal]) -> None:
        """Read the signal queue until it closes, redrawing every ``REFRESH_S``."""
        with Live(self.render(), console=self.console, auto_refresh=False, transient=False) as live:
            ticker = asyncio.create_task(self._redraw(live), name="live-view")
            try:
                while True:
                    batch = await sub.get_batch()
                    if not batch and sub.closed:
                        return
                    self.session.apply(batch)
            finally:
                ticker.cancel()
                await asyncio.gather(ticker, return_exceptions=True)
                live.update(self.render(), refresh=True)

    async def _redraw(self, live: Live) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)
            live.update(self.render(), refresh=True)

    def render(self) -> Group:
        now_ms = time.time_ns() // 1_000_000
        venues = self.market.venues(time.time_ns())
        up = sum(1 for v in venues if v["state"] == "up")
        msgs = self._msgs.update(sum(self.processed))
        sigs = self._sigs.update(self.session.signals)
        head = Text.assemble(
            ("arbsniper run", "bold"), "  ",
            ("venues ", "dim"), (f"{up}/{len(venues)} up", "green" if venues and up == len(venues) else "yellow"), "  ",
            ("msgs/s ", "dim"), f"{msgs:,.0f}", "  ", ("signals/s ", "dim"), f"{sigs:,.1f}", "  ",
            ("open ", "dim"), str(len(self.session.open)), "  ",
            ("uptime ", "dim"), f"{time.monotonic() - self.session.started:,.0f} s",
        )
        url = Text.assemble(("dashboard ", "dim"), (self.url or "off (--no-web)", "bold cyan"))
        table = Table(box=None, pad_edge=False, expand=False, header_style="dim")
        for col, justify in (("route", "left"), ("instrument", "left"), ("net bps", "right"), ("size", "right"),
                             ("profit", "right"), ("p_capture", "right"), ("age", "right")):
            table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        for s, opened_at in self.session.top():
            inst = s.buy_instrument if s.buy_instrument == s.sell_instrument else f"{s.buy_instrument} / {s.sell_instrument}"
            table.add_row(f"{s.buy_exchange} → {s.sell_exchange}", inst, f"{s.net_bps:.1f}",
                          f"{s.size:.4g} {base_of(s.buy_instrument)}", f"{s.profit_quote:.2f} {s.quote_currency}",
                          _dash(s.p_capture, ".0%"), f"{max(0, now_ms - opened_at) / 1000:.1f} s")
        if not self.session.open:
            table.add_row(Text("no open opportunity", style="dim"), "", "", "", "", "", "")
        parts: list[Any] = [head, url, table, self._pnl_line()]
        for level, msg, n in self.warnings.recent()[:3]:
            parts.append(Text.assemble((f"{level.lower()} ×{n}/min ", "yellow" if level == "WARNING" else "red"),
                                       (msg[:140], "dim")))
        return Group(*parts)

    def _pnl_line(self) -> Text:
        p = self.pnl() if self.pnl is not None else None
        if not p:
            return Text("paper P&L  off (not trading)", style="dim")
        s = p.get("session", p)
        cur = p.get("currency", "")
        total = float(s.get("total", 0.0))
        return Text.assemble(("paper P&L this session ", "dim"), (f"{total:+,.2f} {cur}", "green" if total >= 0 else "red"),
                             ("  trades ", "dim"), str(s.get("trades", 0)),
                             ("  open ", "dim"), str(s.get("open", 0)),
                             ("  all time ", "dim"), f"{float(p.get('total', 0.0)):+,.2f} {cur}")


def exit_summary(duration_s: float, opened: int, pnl: Mapping[str, Any] | None) -> str:
    """The lines printed when ``run`` ends: duration, opportunities, trades, session P&L, best and worst pairs."""
    lines = [f"ran {duration_s:,.1f} s: {opened} opportunities"]
    if pnl:
        s = pnl.get("session", pnl)
        cur = pnl.get("currency", "")
        lines[0] += f", {s.get('trades', 0)} paper trades, session P&L {float(s.get('total', 0.0)):+,.2f} {cur}"
        pairs = [p for p in s.get("pairs", []) if p.get("trades")]
        if pairs:
            best, worst = pairs[0], pairs[-1]
            lines.append(f"best pair {best['pair']} ({best['kind']}) {best['total']:+,.2f} {cur} over {best['trades']} trades")
            if len(pairs) > 1:
                lines.append(f"worst pair {worst['pair']} ({worst['kind']}) {worst['total']:+,.2f} {cur} "
                             f"over {worst['trades']} trades")
    return "\n".join(lines)
