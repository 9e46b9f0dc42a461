"""Alerts on new opportunities (SPEC §10), through apprise: webhooks, Telegram, Discord, Slack…

An alert goes out when an opportunity *opens* at or above ``alerts.min_net_bps`` and
``alerts.min_profit``. The alerter reads its own bounded signal queue, so the engine never waits
for it; deciding is synchronous and cheap, sending happens in one background task. At most
``max_per_minute`` alerts go out (a token bucket: bursts up to that many, then one every
``60 / max_per_minute`` seconds); the rest are counted as ``suppressed`` and the next alert
says how many. Failed sends are counted and logged (rate-limited); nothing here ever blocks or
raises into the pipeline.

URLs come from ``[alerts] urls`` (or ``ARBSNIPER_ALERTS__URLS``) in apprise's syntax, e.g.
``json://host:port/path`` (a webhook receiving JSON), ``tgram://bottoken/chat_id``,
``discord://webhook_id/webhook_token``, ``slack://TokenA/TokenB/TokenC/#channel``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import apprise

from arbsniper.bus.inproc import Subscription
from arbsniper.config import AlertsConfig, ConfigError, redact_url
from arbsniper.logs import RateLimited
from arbsniper.metrics import ALERTS, Part
from arbsniper.model import Signal

log = logging.getLogger("arbsniper.alerts")

DRAIN_ON_CLOSE_S = 5.0


def format_alert(s: Signal, suppressed: int = 0) -> tuple[str, str]:
    """Title and body of the notification for an ``open`` signal."""
    title = f"Arbitrage {s.symbol}: buy {s.buy_exchange} sell {s.sell_exchange} net {s.net_bps:.1f} bps"
    lines = [
        f"{s.action} {s.symbol}",
        f"buy  {s.buy_exchange} @ {s.buy_price:.10g} ({s.buy_instrument})",
        f"sell {s.sell_exchange} @ {s.sell_price:.10g} ({s.sell_instrument})",
        f"spread {s.spread_bps:.1f} bps, fees {s.fees_bps:.1f}, slippage {s.slippage_bps:.1f}, "
        f"funding {s.funding_bps:+.1f} -> net {s.net_bps:.1f} bps",
        f"size {s.size:.6g}, profit {s.profit_quote:.2f} {s.quote_currency}, confidence {s.confidence:.0f}",
        f"at {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(s.timestamp / 1000))}.{s.timestamp % 1000:03d} UTC (id {s.id})",
    ]
    if suppressed:
        lines.append(f"({suppressed} more alert{'s' if suppressed != 1 else ''} suppressed by the rate limit since the last one)")
    return title, "\n".join(lines)


class Alerter:
    """Decides which signals deserve an alert and sends them off the hot path."""

    def __init__(self, config: AlertsConfig, *, clock: Callable[[], float] = time.monotonic,
                 notifier: apprise.Apprise | None = None) -> None:
        self.config = config
        self.clock = clock
        self.notifier = notifier or apprise.Apprise()
        if notifier is None:
            for url in config.urls:
                if not self.notifier.add(url):
                    raise ConfigError(f"alerts.urls: {redact_url(url)!r} is not a URL apprise supports")
        self.capacity = float(config.max_per_minute)
        self.refill_per_s = config.max_per_minute / 60.0
        self.tokens = self.capacity
        self._refilled = clock()
        self.queue: deque[tuple[Signal, int]] = deque()
        self.matched = 0
        self.sent = 0
        self.failed = 0
        self.suppressed = 0
        self.dropped = 0
        self._suppressed_since = 0
        self._sending = False
        self._wakeup = asyncio.Event()
        self._warn = RateLimited(log, 60.0)

    def offer(self, s: Signal) -> bool:
        """Queue an alert for ``s`` if it deserves one and the rate allows; never blocks."""
        cfg = self.config
        if s.event != "open" or s.net_bps < cfg.min_net_bps or s.profit_quote < cfg.min_profit:
            return False
        self.matched += 1
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._refilled) * self.refill_per_s)
        self._refilled = now
        if self.tokens < 1.0:
            self.suppressed += 1
            self._suppressed_since += 1
            return False
        if len(self.queue) >= cfg.queue:
            self.dropped += 1
            return False
        self.tokens -= 1.0
        self.queue.append((s, self._suppressed_since))
        self._suppressed_since = 0
        self._wakeup.set()
        return True

    async def send_one(self, s: Signal, suppressed: int) -> bool:
        """Send one alert; a failure is counted and logged, never raised."""
        title, body = format_alert(s, suppressed)
        try:
            ok = bool(await self.notifier.async_notify(body=body, title=title, timeout=self.config.timeout_s))
        except Exception as exc:
            ok = False
            self._warn.warning("error", "alert failed", id=s.id, error=repr(exc))
        else:
            if not ok:
                self._warn.warning("failed", "alert not delivered", id=s.id, failed_total=self.failed + 1)
        if ok:
            self.sent += 1
        else:
            self.failed += 1
        return ok

    async def sender(self) -> None:
        """Send queued alerts one after another, forever."""
        while True:
            while not self.queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            s, suppressed = self.queue.popleft()
            self._sending = True
            try:
                await self.send_one(s, suppressed)
            finally:
                self._sending = False

    async def consume(self, sub: Subscription[Signal]) -> None:
        """Read a signal subscription until it closes; then give queued alerts a moment to go."""
        sender = asyncio.create_task(self.sender(), name="alerts:sender")
        try:
            while True:
                batch = await sub.get_batch()
                if not batch and sub.closed:
                    break
                for s in batch:
                    self.offer(s)
            deadline = time.monotonic() + DRAIN_ON_CLOSE_S
            while (self.queue or self._sending) and time.monotonic() < deadline and not sender.done():
                await asyncio.sleep(0.05)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    def samples(self) -> list[Part]:
        """``arbsniper_alerts_total{outcome}`` for ``/metrics``."""
        return [ALERTS, *(ALERTS(getattr(self, k), outcome=k) for k in ("sent", "failed", "suppressed", "dropped"))]

    def stats(self) -> dict[str, Any]:
        return {
            "urls": [redact_url(u) for u in self.config.urls],
            "matched": self.matched,
            "sent": self.sent,
            "failed": self.failed,
            "suppressed": self.suppressed,
            "dropped": self.dropped,
            "queued": len(self.queue),
        }
