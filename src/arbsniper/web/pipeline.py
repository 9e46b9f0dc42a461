"""What the dashboard needs of the embedded pipeline, as a protocol: ``app.App`` satisfies it.

The web package reads this, never the ``App`` class, so the composition root can import the
dashboard without the dashboard importing it back (no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from arbsniper.bus.inproc import Subscription
from arbsniper.config import Config
from arbsniper.metrics import LatencyHistogram, Part
from arbsniper.model import Signal

if TYPE_CHECKING:
    from arbsniper.alerts import Alerter
    from arbsniper.engine import Engine

Consumer = Callable[[Subscription[Signal]], Coroutine[Any, Any, None]]
"""A cold-path consumer: reads its own signal queue until it closes."""


class Pipeline(Protocol):
    """The embedded pipeline as the dashboard sees it."""

    @property
    def config(self) -> Config: ...

    @property
    def engine(self) -> Engine:
        """Read its market state for the matrix and venue health (same loop, between batches)."""
        ...

    @property
    def history_enabled(self) -> bool: ...

    @property
    def history_file(self) -> Path: ...

    @property
    def pnl(self) -> Callable[[], Mapping[str, Any] | None] | None:
        """The paper-trading P&L for the page's panel, when trading."""
        ...

    @property
    def alerter(self) -> Alerter | None: ...

    def stats(self) -> Mapping[str, Any]:
        """Engine, queue and history counters (``/health``, the page's counter bar)."""
        ...

    def samples(self) -> list[Part]:
        """Its ``/metrics`` samples (the web server adds its own)."""
        ...

    def histograms(self) -> Mapping[str, LatencyHistogram]: ...

    def add_consumer(self, name: str, consume: Consumer) -> Subscription[Signal]:
        """Give the dashboard its own signal queue."""
        ...
