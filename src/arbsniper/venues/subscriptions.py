"""How many connections a venue market needs for its instruments, within the venue's limits.

Venues cap what one client may hold and ask (shared/venues.md, ``SubscriptionLimits`` per venue
market): streams per connection (Binance 1024, Bitget 1000 / 50 recommended, KuCoin 400 topics),
arguments per subscribe request (Bybit spot 10, KuCoin 100), subscribe requests per connection
per hour (OKX 480, Bitget 240), connections and subscriptions per IP (Hyperliquid 100 / 1000).
``plan_connections`` cuts an instrument list into one chunk per connection so that none of them
is refused; each chunk becomes its own ``Venue`` and ``VenueSession`` (own heartbeat, reconnect
and resync). The pacing of the requests themselves is ``session.Pacer``'s job.

Cold path: called once per venue market when the connectors are built.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TypeVar

from arbsniper.venues.metadata import SubscriptionLimits

log = logging.getLogger("arbsniper.venues")

T = TypeVar("T")

# A connection's first subscription may spend at most this share of its hourly request budget;
# the rest is kept for resubscribes (a book resync costs an unsubscribe and a subscribe).
SUBSCRIBE_SHARE = 0.25


def instruments_per_connection(limits: SubscriptionLimits, cap: int = 0) -> int:
    """The most instruments one connection takes without a refusal (``cap``: the class's own bound)."""
    streams = max(1, limits.streams_per_instrument)
    most = limits.instruments_per_connection()
    if limits.max_requests_per_hour:
        requests = max(1, int(limits.max_requests_per_hour * SUBSCRIBE_SHARE))
        most = min(most, requests * max(1, limits.max_args_per_request) // streams)
    if cap > 0:
        most = min(most, cap)
    return max(1, most)


def subscribe_requests(limits: SubscriptionLimits, instruments: int) -> int:
    """Subscribe requests one connection sends for ``instruments`` (one request per ``max_args_per_request`` streams)."""
    return math.ceil(instruments * limits.streams_per_instrument / max(1, limits.max_args_per_request))


def plan_connections(
    limits: SubscriptionLimits, instruments: Sequence[T], *, cap: int = 0, label: str = "venue",
    streams_used: int = 0, connections_used: int = 0,
) -> list[list[T]]:
    """``instruments`` cut into one list per connection, evenly, within ``limits``.

    Instruments beyond the venue's per-IP caps (connections, subscriptions) are left out, the
    last ones first (callers pass them ranked), and a warning says how many: an instrument not
    watched is better than a connection the venue refuses or bans. ``streams_used`` /
    ``connections_used``: what the venue's other markets already take of those per-IP caps
    (Hyperliquid's perp and spot connections share its 1000 subscriptions).
    """
    items = list(instruments)
    if not items:
        return []
    if limits.max_streams_per_ip:
        room = max(0, limits.max_streams_per_ip - streams_used) // max(1, limits.streams_per_instrument)
        if len(items) > room:
            log.warning("%s: %d instruments left out: the venue allows %d subscriptions per IP",
                        label, len(items) - room, limits.max_streams_per_ip)
            items = items[:room]
    per = instruments_per_connection(limits, cap)
    count = math.ceil(len(items) / per)
    if limits.max_connections and count > limits.max_connections - connections_used:
        count = max(0, limits.max_connections - connections_used)
        log.warning("%s: %d instruments left out: the venue allows %d connections per IP",
                    label, len(items) - count * per, limits.max_connections)
        items = items[:count * per]
    if not items:
        return []
    # Even chunks (301 over 150 a connection: 101 + 100 + 100, not 150 + 150 + 1).
    size, extra = divmod(len(items), count)
    out: list[list[T]] = []
    start = 0
    for k in range(count):
        end = start + size + (1 if k < extra else 0)
        out.append(items[start:end])
        start = end
    return out


__all__ = ["SUBSCRIBE_SHARE", "instruments_per_connection", "plan_connections", "subscribe_requests"]
