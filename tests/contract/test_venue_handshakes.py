"""Venue-specific protocol behaviour through the real session and the simulator.

The shared contract suite (``test_venues.py``) runs every venue through the same cases; these
prove what only some venues do: KuCoin's REST token handshake before every connection, and the
resubscription Bitget and Paradex use to get a fresh book. Waits only guard against a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable

import pytest

from arbsniper.config import DemoConfig
from arbsniper.instruments import SymbolMap
from arbsniper.model import DOWN, RESYNCING, UP, Book, MarketEvent, Quote, VenueStatus
from arbsniper.sim import kucoin as sim_kucoin
from arbsniper.sim.exchange import Simulator
from arbsniper.sim.synthetic import Listing
from arbsniper.venues import venue_class
from arbsniper.venues.base import Heartbeat, Venue
from arbsniper.venues.kucoin import KuCoinSpot
from arbsniper.venues.session import ReconnectPolicy, VenueSession
from tests.contract.test_venues import listed

CALM = DemoConfig(updates_per_s=300.0, dislocation_every_s=1e6, stale_every_s=1e6, crossed_every_s=1e6)


class Run:
    """A simulator for one listing and one session against it."""

    def __init__(self, sim: Simulator, venue: Venue, session: VenueSession, events: list[MarketEvent]) -> None:
        self.sim, self.venue, self.session, self.events = sim, venue, session, events
        self.server = sim.servers[venue.name]

    async def until(self, pred: Callable[[], bool], what: str, deadline_s: float = 15.0) -> None:
        for _ in range(int(deadline_s / 0.01)):
            if pred():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"never saw {what}; down reasons {self.session.stats.down_reasons}")

    def statuses(self, state: int) -> list[VenueStatus]:
        return [e for e in self.events if isinstance(e, VenueStatus) and e.state == state]


@contextlib.asynccontextmanager
async def running(listing: Listing, heartbeat: Heartbeat | None = None,
                  venue_cls: type[Venue] | None = None) -> AsyncIterator[Run]:
    sim = Simulator([listing], demo=CALM, seed=11, venues=[listing.venue])
    await sim.start()
    market = "perp" if ":" in listing.instrument else "spot"
    ws, rest = sim.urls()[listing.venue]
    cls = venue_cls or venue_class(listing.venue, market)
    venue = cls(market, SymbolMap(), await listed(cls, market, rest, listing.instrument), base_url=ws, rest_url=rest)
    session = VenueSession(venue, policy=ReconnectPolicy(initial_s=0.05, max_s=0.2), heartbeat=heartbeat, seed=1)
    events: list[MarketEvent] = []
    task = asyncio.create_task(session.run(events.append))
    try:
        yield Run(sim, venue, session, events)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sim.stop()


def quotes(run: Run) -> int:
    return sum(1 for e in run.events if isinstance(e, Quote))


# --- KuCoin: the token handshake -------------------------------------------------------------


async def test_kucoin_posts_bullet_public_before_each_connection_and_pings_at_the_interval_it_gives() -> None:
    async with running(Listing("kucoin", "BTC/USDT")) as run:
        server = run.server
        server.ping_interval_ms = 200  # type: ignore[attr-defined]  # set before the session's first await
        await run.until(lambda: quotes(run) >= 3, "quotes on the first connection")
        # Before the first connection (after the listing, which the harness read first): the token.
        session_requests = [r for r in server.rest_requests if "/api/v2/symbols" not in r and "/allTickers" not in r]
        assert session_requests[0] == "POST /spot/api/v1/bullet-public"
        # The session took the ping rule from the bullet response (no override given).
        await run.until(lambda: run.session.heartbeat.interval_s == 0.2, "the bullet's ping interval in use")
        assert run.session.heartbeat.timeout_s == pytest.approx(10.2)
        await run.until(lambda: run.session.last_pong_ns > 0, "a pong to a JSON ping")
        pings = [json.loads(m) for m in server.messages_received if '"ping"' in m]
        assert pings and all(p["type"] == "ping" for p in pings)
        first_token = server.tokens_used[0]  # type: ignore[attr-defined]
        assert first_token in server.tokens  # type: ignore[attr-defined]
        server.drop_connections(1001, "going away")
        await run.until(lambda: run.session.stats.connects >= 2, "a reconnect")
        n = quotes(run)
        await run.until(lambda: quotes(run) >= n + 3, "quotes on the second connection")
        posts = [r for r in server.rest_requests if r.startswith("POST")]
        assert len(posts) == 2, "a fresh token is fetched for every connection"
        assert server.tokens_used[1] != first_token  # type: ignore[attr-defined]


class _StaleToken(KuCoinSpot):
    """A client that skips the handshake and presents a token the venue never issued."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.on_handshake(json.dumps({"code": "200000", "data": {"token": "expired", "instanceServers": [
            {"endpoint": "ws://unused/", "encrypt": False, "protocol": "websocket", "pingInterval": 18000, "pingTimeout": 10000}]}}))

    def handshake(self) -> None:
        return None


async def test_kucoin_connection_with_a_token_the_venue_did_not_issue_is_refused() -> None:
    hb = Heartbeat("json", 0.2, 1.5, '{"id":"ping","type":"ping"}')
    async with running(Listing("kucoin", "BTC/USDT"), hb, venue_cls=_StaleToken) as run:
        await run.until(lambda: any("closed by server" in s.reason for s in run.statuses(DOWN)), "the refusal")
        assert run.session.stats.bad_frames >= 1 and "token is invalid" in run.session.stats.last_bad_frame
        assert quotes(run) == 0


async def test_kucoin_futures_book_in_whole_contracts_matches_the_reference() -> None:
    hb = Heartbeat("json", 0.2, 1.5, '{"id":"ping","type":"ping"}')
    async with running(sim_kucoin.listing("ETH/USDT:USDT", 3_400.0), hb) as run:
        await run.until(lambda: sum(isinstance(e, Book) for e in run.events) >= 20, "20 books")
        await run.sim.pause()
        ref = run.server.books["ETH/USDT:USDT"]
        # ETHUSDTM is 0.01 ETH per contract: every size is a whole number of hundredths.
        assert all(round(s * 100) == pytest.approx(s * 100) for _, s in ref.bids + ref.asks)

        def matches() -> bool:
            b = next((e for e in reversed(run.events) if isinstance(e, Book)), None)
            return b is not None and b.bids[: len(ref.bids)] == ref.bids and b.asks[: len(ref.asks)] == ref.asks

        await run.until(matches, "the reference book")
        snapshots = [r for r in run.server.rest_requests if "/api/v1/level2/snapshot?symbol=ETHUSDTM" in r]
        assert snapshots, "the book was built on a REST snapshot"


# --- resubscription for a fresh book (Bitget checksum, Paradex gap) -----------------------------


async def test_bitget_checksum_mismatch_unsubscribes_and_resubscribes_books_only() -> None:
    hb = Heartbeat("text", 0.2, 1.5, "ping")
    async with running(Listing("bitget", "BTC/USDT:USDT"), hb) as run:
        await run.until(lambda: any(s.instrument >= 0 for s in run.statuses(UP)), "the first book")
        await run.until(lambda: any("ticker" in m for m in run.server.messages_received), "every subscription")
        seen = len(run.server.messages_received)
        run.server.corrupt_checksum("BTC/USDT:USDT")
        await run.until(lambda: any("checksum mismatch" in s.reason for s in run.statuses(RESYNCING)), "the mismatch")
        await run.until(lambda: len([s for s in run.statuses(UP) if s.instrument >= 0]) >= 2, "the book back up")
        sent = [json.loads(m) for m in run.server.messages_received[seen:] if m != "ping"]
        arg = {"instType": "USDT-FUTURES", "channel": "books", "instId": "BTCUSDT"}
        assert sent == [{"op": "unsubscribe", "args": [arg]}, {"op": "subscribe", "args": [arg]}]
        assert run.session.stats.bad_frames == 0 and run.session.stats.connects == 1


async def test_paradex_gap_resubscribes_the_book_without_a_duplicate_subscription_error() -> None:
    async with running(Listing("paradex", "SOL/USD:USDC"), Heartbeat("server-ping", 55.0, 1.5)) as run:
        await run.until(lambda: any(s.instrument >= 0 for s in run.statuses(UP)), "the first book")
        await run.until(lambda: len(run.server.messages_received) == 3, "the three subscriptions (paced)")
        seen = len(run.server.messages_received)
        run.server.skip_sequence("SOL/USD:USDC")
        await run.until(lambda: any("gap" in s.reason for s in run.statuses(RESYNCING)), "the gap")
        await run.until(lambda: len([s for s in run.statuses(UP) if s.instrument >= 0]) >= 2, "the book back up")
        sent = [(m["method"], m["params"]["channel"]) for m in map(json.loads, run.server.messages_received[seen:])]
        assert sent == [("unsubscribe", "order_book.SOL-USD-PERP.deltas"), ("subscribe", "order_book.SOL-USD-PERP.deltas")]
        assert run.session.stats.bad_frames == 0  # no "already subscribed" error came back


async def test_hyperliquid_greeting_text_is_not_a_bad_frame() -> None:
    hb = Heartbeat("json", 0.2, 1.5, '{"method":"ping"}')
    async with running(Listing("hyperliquid", "BTC/USDC:USDC"), hb) as run:
        await run.until(lambda: quotes(run) >= 3 and run.session.last_pong_ns > 0, "quotes and a pong")
        assert run.session.stats.bad_frames == 0
