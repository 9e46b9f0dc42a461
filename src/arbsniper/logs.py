"""Logging: structured ``key=value`` lines on stderr, and a rate limiter for noisy warnings.

Never called from the hot path: parsers count bad frames; the session that owns the counter
logs through ``RateLimited`` so a flood of garbage produces one line per interval, not one per
frame.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections import deque


class _KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line = f"{ts}.{int(record.msecs):03d}Z {record.levelname:<7} {record.name} {record.getMessage()}"
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


REPEAT_WINDOW_S = 60.0


def _template(record: logging.LogRecord) -> tuple[str, str]:
    """What makes two warnings "the same": logger and message with its numbers blanked."""
    return record.name, re.sub(r"\d+(\.\d+)?", "#", str(record.msg))


class CollapseRepeats(logging.Filter):
    """Lets the first of a repeated warning through once per minute; the next one that passes
    carries ``repeated=N`` (how many were held back), so a warning every 5 s is one line a minute."""

    def __init__(self, window_s: float = REPEAT_WINDOW_S) -> None:
        super().__init__()
        self.window_s = window_s
        self._seen: dict[tuple[str, str], list[float]] = {}  # key -> [window start, held back]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = _template(record)
        seen = self._seen.get(key)
        if seen is not None and record.created - seen[0] < self.window_s:
            seen[1] += 1
            return False
        if seen is not None and seen[1]:
            fields = dict(getattr(record, "fields", None) or {})
            fields["repeated"] = f"{int(seen[1])}/min"
            record.fields = fields
        self._seen[key] = [record.created, 0]
        return True


class WarningTally(logging.Handler):
    """The live terminal view's log: warnings and errors counted per kind over the last minute
    (the newest text kept as the example), nothing printed."""

    def __init__(self, window_s: float = REPEAT_WINDOW_S) -> None:
        super().__init__(logging.WARNING)
        self.window_s = window_s
        self._times: dict[tuple[str, str], deque[float]] = {}
        self._last: dict[tuple[str, str], tuple[str, str]] = {}  # key -> (level, message)
        self.total = 0

    def emit(self, record: logging.LogRecord) -> None:
        key = _template(record)
        self._times.setdefault(key, deque()).append(record.created)
        self._last[key] = (record.levelname, f"{record.name} {record.getMessage()}")
        self.total += 1

    def recent(self, now: float | None = None) -> list[tuple[str, str, int]]:
        """(level, newest message, count in the last minute), most frequent first."""
        now = time.time() if now is None else now
        out = []
        for key, times in self._times.items():
            while times and now - times[0] > self.window_s:
                times.popleft()
            if times:
                level, msg = self._last[key]
                out.append((level, msg, len(times)))
        return sorted(out, key=lambda t: -t[2])


def setup_logging(level: str = "INFO", handler: logging.Handler | None = None) -> None:
    """Send every arbsniper log line to stderr (stdout is reserved for --json output), repeated
    warnings collapsed to one a minute; or, for the live terminal view, to ``handler``."""
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_KeyValueFormatter())
        handler.addFilter(CollapseRepeats())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # picows logs every connection at INFO (the simulator serves dozens): only its warnings.
    logging.getLogger("picows").setLevel(max(logging.WARNING, root.level))


class RateLimited:
    """Logs at most one line per ``interval_s`` per key, saying how many were suppressed."""

    def __init__(self, logger: logging.Logger, interval_s: float = 10.0) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, msg: str, **fields: object) -> bool:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        suppressed = self._suppressed.pop(key, 0)
        if suppressed:
            fields["suppressed"] = suppressed
        self._last[key] = now
        self.logger.warning(msg, extra={"fields": fields})
        return True
