"""Wire format of market events between ``arbsniper ingest`` and ``arbsniper engine`` (version 2).

Every event is one two-frame ZeroMQ message ``[topic, payload]``:

- ``topic`` (ASCII) is ``"<bucket>|<instrument>|"`` for an instrument's events, where ``<bucket>`` is
  two hex digits: ``bucket_of(instrument)``, a stable hash of the instrument's *group* (base and
  kind: ``BTC/USD`` and ``BTC/USDT`` share a group, because the detector compares them through a
  conversion rate, so they must land on the same engine shard). Connection-wide venue statuses
  go to ``BROADCAST_TOPIC`` (``"*|"``). ZeroMQ subscriptions are prefix matches, so an engine
  subscribes to ``"<bucket>|"`` for each bucket of its shard, or to an instrument's full topic; the
  trailing ``|`` keeps ``BTC/USDT`` from matching ``BTC/USDT:USDT``.
- ``payload`` is one version byte (``WIRE_VERSION``) followed by a msgpack array
  ``[tag, venue, fields..., epoch, sent_ns]`` (msgspec, ``array_like`` tagged structs): no field
  names on the wire, about 80 bytes for a quote. ``epoch`` names one ingest run (random, drawn at
  start): a venue's sequence numbers and exchange times only order events of the same run, so an
  engine that sees a new epoch for a (venue, instrument) forgets that slot's ordering state
  (a restarted ingest counts from 1 again; its quotes are not "old"). A payload of another version is rejected and counted, so a
  mixed-version deployment fails loudly instead of misreading numbers.

Integer ids are process-local (each process has its own ``SymbolMap``), so the wire carries venue
and instrument *names*; the decoder interns them once and caches ``topic → instrument id``, so
the per-message cost is one dict lookup. ``sent_ns`` is the ingest's publish time, for the
per-stage latency figures (its clock: only meaningful across machines with synchronized clocks).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any

import msgspec

from arbsniper.instruments import InstrumentError, SymbolMap, parse_instrument
from arbsniper.model import ANY, Book, Funding, MarketEvent, Quote, VenueStatus

WIRE_VERSION = 2
_VERSION_BYTE = bytes([WIRE_VERSION])
BUCKETS = 256
BROADCAST_TOPIC = b"*|"

TAG_QUOTE, TAG_BOOK, TAG_FUNDING, TAG_STATUS = 1, 2, 3, 4


class WireError(ValueError):
    """A message that is not a valid version-2 market event (counted and skipped by the engine)."""


class _WQuote(msgspec.Struct, array_like=True, tag=TAG_QUOTE, frozen=True, gc=False):
    venue: str
    bid: float
    bid_size: float
    ask: float
    ask_size: float
    exchange_ts_ns: int
    recv_ts_ns: int
    seq: int
    epoch: int
    sent_ns: int


class _WBook(msgspec.Struct, array_like=True, tag=TAG_BOOK, frozen=True, gc=False):
    venue: str
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]
    exchange_ts_ns: int
    recv_ts_ns: int
    seq: int
    epoch: int
    sent_ns: int


class _WFunding(msgspec.Struct, array_like=True, tag=TAG_FUNDING, frozen=True, gc=False):
    venue: str
    rate: float
    interval_hours: float
    next_funding_ts_ns: int
    exchange_ts_ns: int
    recv_ts_ns: int
    epoch: int
    sent_ns: int


class _WStatus(msgspec.Struct, array_like=True, tag=TAG_STATUS, frozen=True, gc=False):
    venue: str
    state: int
    reason: str
    recv_ts_ns: int
    market: int
    epoch: int
    sent_ns: int


_WireEvent = _WQuote | _WBook | _WFunding | _WStatus


def new_epoch() -> int:
    """A random id for one ingest run (32 bits, 5 bytes of msgpack; never 0): two runs in a row
    share one with odds of 1 in 2 billion."""
    return secrets.randbits(32) | 1


def group_key(instrument: str) -> str:
    """The shard key of an instrument: its comparable group (base and kind), e.g. ``BTC:spot``."""
    inst = parse_instrument(instrument)
    return f"{inst.base}:{'perp' if inst.is_perp else 'spot'}"


def bucket_of(instrument: str) -> int:
    """Stable bucket (0..255) of an instrument; the same in every process and on every machine."""
    return hashlib.blake2b(group_key(instrument).encode(), digest_size=8).digest()[0]


def shard_of(instrument: str, shards: int) -> int:
    """The engine shard (0..shards-1) that owns an instrument when the work is split ``shards`` ways."""
    return bucket_of(instrument) % shards


def topic_for(instrument: str) -> bytes:
    """The ZeroMQ topic of an instrument's events."""
    return b"%02x|%s|" % (bucket_of(instrument), instrument.encode())


def shard_prefixes(shard: int, shards: int) -> list[bytes]:
    """The subscription prefixes of shard ``shard`` of ``shards``: every bucket it owns."""
    if not 0 <= shard < shards <= BUCKETS:
        raise ValueError(f"shard {shard}/{shards}: need 0 <= K < N <= {BUCKETS}")
    return [b"%02x|" % b for b in range(BUCKETS) if b % shards == shard]


class Encoder:
    """Normalized events (with this process's ids) to ``(topic, payload)`` frames."""

    def __init__(self, symbols: SymbolMap, epoch: int | None = None) -> None:
        self.symbols = symbols
        self.epoch = new_epoch() if epoch is None else epoch
        self._topics: list[bytes] = []
        self._encode = msgspec.msgpack.Encoder().encode

    def topic(self, instrument_id: int) -> bytes:
        topics = self._topics
        if instrument_id >= len(topics):
            names = self.symbols.instruments
            topics.extend(topic_for(names[i].name) for i in range(len(topics), len(names)))
        return topics[instrument_id]

    def encode(self, ev: MarketEvent, sent_ns: int) -> tuple[bytes, bytes]:
        """Encode one event (hot path of the ingest: one tuple, one msgpack call)."""
        venue = self.symbols.venues[ev.venue]
        epoch = self.epoch
        t = type(ev)
        body: tuple[Any, ...]
        if t is Quote:
            body = (TAG_QUOTE, venue, ev.bid, ev.bid_size, ev.ask, ev.ask_size,  # type: ignore[union-attr]
                    ev.exchange_ts_ns, ev.recv_ts_ns, ev.seq, epoch, sent_ns)  # type: ignore[union-attr]
            return self.topic(ev.instrument), _VERSION_BYTE + self._encode(body)  # type: ignore[union-attr]
        if t is Book:
            body = (TAG_BOOK, venue, ev.bids, ev.asks, ev.exchange_ts_ns, ev.recv_ts_ns, ev.seq, epoch, sent_ns)  # type: ignore[union-attr]
            return self.topic(ev.instrument), _VERSION_BYTE + self._encode(body)  # type: ignore[union-attr]
        if t is Funding:
            body = (TAG_FUNDING, venue, ev.rate, ev.interval_hours, ev.next_funding_ts_ns,  # type: ignore[union-attr]
                    ev.exchange_ts_ns, ev.recv_ts_ns, epoch, sent_ns)  # type: ignore[union-attr]
            return self.topic(ev.instrument), _VERSION_BYTE + self._encode(body)  # type: ignore[union-attr]
        if t is VenueStatus:
            body = (TAG_STATUS, venue, ev.state, ev.reason, ev.recv_ts_ns, ev.market, epoch, sent_ns)  # type: ignore[union-attr]
            topic = BROADCAST_TOPIC if ev.instrument == ANY else self.topic(ev.instrument)  # type: ignore[union-attr]
            return topic, _VERSION_BYTE + self._encode(body)
        raise TypeError(f"not a market event: {ev!r}")


class Decoder:
    """``(topic, payload)`` frames back to normalized events with *this* process's ids.

    ``on_new_ids`` is called (cold path) after a venue or instrument was added to the symbol map,
    so the engine can grow its arrays before the event reaches it. ``accept`` filters instruments
    (a shard refusing what is not its own even if a broad subscription let it through); refused
    messages raise ``WireError``. ``on_new_epoch(instrument, venue)`` is called (cold path) before
    the first event of a (venue, instrument) from an ingest run other than the one seen last: the
    engine forgets that slot's ordering (sequence numbers and times of another run order nothing).
    """

    def __init__(self, symbols: SymbolMap, on_new_ids: Callable[[], None] | None = None,
                 accept: Callable[[str], bool] | None = None,
                 on_new_epoch: Callable[[int, int], None] | None = None) -> None:
        self.symbols = symbols
        self.on_new_ids = on_new_ids
        self.accept = accept
        self.on_new_epoch = on_new_epoch
        self.epochs: dict[int, dict[int, int]] = {}  # instrument id -> venue id -> epoch seen last
        self.new_epochs = 0  # (venue, instrument) slots that saw a new ingest run
        self._decode = msgspec.msgpack.Decoder(_WireEvent).decode
        self._instruments: dict[bytes, int] = {BROADCAST_TOPIC: ANY}
        self._venues: dict[str, int] = {}

    def _instrument(self, topic: bytes) -> int:
        iid = self._instruments.get(topic)
        if iid is not None:
            return iid
        parts = topic.split(b"|")
        if len(parts) != 3 or parts[2] or len(parts[0]) != 2:
            raise WireError(f"malformed topic {topic[:60]!r}")
        try:
            name = parts[1].decode()
            if topic != topic_for(name):
                raise WireError(f"topic {topic[:60]!r} has the wrong bucket")
        except (UnicodeDecodeError, InstrumentError) as exc:
            raise WireError(f"topic {topic[:60]!r}: {exc}") from None
        if self.accept is not None and not self.accept(name):
            raise WireError(f"instrument {name} is not handled here")
        known = len(self.symbols.instruments)
        iid = self.symbols.instrument_id(name)
        self._instruments[topic] = iid
        if len(self.symbols.instruments) != known and self.on_new_ids is not None:
            self.on_new_ids()
        return iid

    def _venue(self, name: str) -> int:
        vid = self._venues.get(name)
        if vid is None:
            if not name or len(name) > 40:
                raise WireError(f"bad venue name {name[:60]!r}")
            known = len(self.symbols.venues)
            vid = self._venues[name] = self.symbols.venue_id(name)
            if len(self.symbols.venues) != known and self.on_new_ids is not None:
                self.on_new_ids()
        return vid

    def _epoch_changed(self, i: int, v: int, epoch: int) -> None:
        by_venue = self.epochs.setdefault(i, {})
        known = v in by_venue
        by_venue[v] = epoch
        if known and i != ANY:
            self.new_epochs += 1
            if self.on_new_epoch is not None:
                self.on_new_epoch(i, v)

    def decode(self, topic: bytes, payload: bytes) -> tuple[MarketEvent, int]:
        """One message to ``(event, sent_ns)``; raises ``WireError`` for anything invalid."""
        if not payload or payload[0] != WIRE_VERSION:
            raise WireError(f"wire version {payload[0] if payload else None}, expected {WIRE_VERSION}")
        try:
            w = self._decode(memoryview(payload)[1:])
        except msgspec.DecodeError as exc:
            raise WireError(f"undecodable payload: {exc}") from None
        i = self._instrument(topic)
        v = self._venue(w.venue)
        by_venue = self.epochs.get(i)
        if by_venue is None or by_venue.get(v) != w.epoch:
            self._epoch_changed(i, v, w.epoch)
        t = type(w)
        if t is _WQuote:
            if i == ANY:
                raise WireError("quote on the broadcast topic")
            return Quote(v, i, w.bid, w.bid_size, w.ask, w.ask_size, w.exchange_ts_ns, w.recv_ts_ns, w.seq), w.sent_ns  # type: ignore[union-attr]
        if t is _WBook:
            if i == ANY:
                raise WireError("book on the broadcast topic")
            return Book(v, i, w.bids, w.asks, w.exchange_ts_ns, w.recv_ts_ns, w.seq), w.sent_ns  # type: ignore[union-attr]
        if t is _WFunding:
            if i == ANY:
                raise WireError("funding on the broadcast topic")
            return Funding(v, i, w.rate, w.interval_hours, w.next_funding_ts_ns, w.exchange_ts_ns, w.recv_ts_ns), w.sent_ns  # type: ignore[union-attr]
        if w.market not in (ANY, 0, 1) or w.state not in (0, 1, 2):  # type: ignore[union-attr]
            raise WireError(f"status with market {w.market} state {w.state}")  # type: ignore[union-attr]
        return VenueStatus(v, w.state, w.reason, w.recv_ts_ns, w.market, i), w.sent_ns  # type: ignore[union-attr]
