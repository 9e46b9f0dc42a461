"""Logging: structured ``key=value`` lines on stderr, and a rate limiter for noisy warnings.

Never called from the hot path: parsers count bad frames; the session that owns the counter
logs through ``RateLimited`` so a flood of garbage produces one line per interval, not one per
frame.
"""

from __future__ import annotations

import logging
import sys
import time


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


def setup_logging(level: str = "INFO") -> None:
    """Send every arbsniper log line to stderr (stdout is reserved for --json output)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_KeyValueFormatter())
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
