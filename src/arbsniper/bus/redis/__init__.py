"""Signals in Redis: the publisher (engine, ``run --redis``) and the two readers other roles use.

- ``RedisSignalPublisher`` (``publisher``): per signal, one atomic script does ``PUBLISH`` on the
  channel, ``ZADD`` to the history sorted set and ``XADD`` to the stream, never making the hot
  path wait;
- ``SignalFeed`` (``feed``, the dashboard): ``async for signal in feed`` yields live signals from
  the channel, reconnecting on its own and catching up from the history after a reconnect;
  ``await feed.recent(100)`` gives the newest history for a page's first paint;
- ``SignalStreamReader`` (``stream``, the trader): a consumer-group reader of the stream with
  explicit acknowledgement; an entry not acknowledged is delivered again after a restart.

``connection`` holds what they share (fail-fast clients, retryable errors, back-off). This
package imports redis-py absolutely (``import redis.asyncio``): its name does not shadow it.
"""

from arbsniper.bus.redis.connection import (
    BACKOFF_MAX_S,
    BACKOFF_MIN_S,
    RETRYABLE,
    connect,
    default_instance,
    redact_url,
)
from arbsniper.bus.redis.feed import SignalFeed
from arbsniper.bus.redis.publisher import RedisSignalPublisher, publish_script
from arbsniper.bus.redis.stream import SignalStreamReader, StreamEntry

__all__ = [
    "BACKOFF_MAX_S", "BACKOFF_MIN_S", "RETRYABLE", "RedisSignalPublisher", "SignalFeed", "SignalStreamReader",
    "StreamEntry", "connect", "default_instance", "publish_script", "redact_url",
]
