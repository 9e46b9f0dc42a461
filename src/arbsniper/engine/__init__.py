"""Market state, detector and lifecycle: the hot path from normalized event to signal."""

from arbsniper.engine.core import Engine

__all__ = ["Engine"]
