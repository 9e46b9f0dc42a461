"""The parser contract under hostile input, over ``REGISTRY`` × markets (issue 12, "keep it fixed").

Every venue parser is fed its own real fixture frames (in file order, so books exist), then
hand-made hostile frames (bad JSON, deep nesting, invalid UTF-8, truncations, every value of a
frame replaced by a wrong type or a non-finite / non-positive / huge number, keys dropped,
crossed quotes) and hypothesis mutations of those fixtures (a bounded, derandomized number of
examples per venue market, so the suite stays well under a minute). Asserted, for every frame:

- nothing escapes ``parse`` but a counted rejection (``base.REJECTED``, as every caller catches);
- no event leaves with a non-finite or non-positive price, a negative or non-finite size, or a
  non-finite funding rate or interval. A crossed quote may leave: the engine refuses and counts it.

Paradex's channel data is binary SBE: its frames are made with the simulator's encoder
(``paradex_sbe.encode``) and mutated byte by byte and field by field the same way.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, Funding, MarketEvent, Quote
from arbsniper.venues import REGISTRY
from arbsniper.venues import paradex_sbe as sbe
from arbsniper.venues.base import REJECTED, Venue
from arbsniper.venues.metadata import TRADING, InstrumentMeta

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CASES = [(name, market) for name, info in REGISTRY.items() for market in info.markets]
IDS = [f"{n}-{m}" for n, m in CASES]
EXAMPLES = 120  # hypothesis examples per venue market and strategy

NASTY_NUMBERS: list[Any] = ["NaN", "nan", "Infinity", "-Infinity", "inf", "-1", "-0.5", "0", "1e308", "1e309", "-1e308",
                            "1e-320", "", "abc", None, True, [], {}, -1, 0, 1e308, -1e308, 2**64, -(2**63), 1.5e300]


@dataclass
class Tally:
    """What a run of frames did to one parser."""

    frames: int = 0
    rejected: int = 0
    events: int = 0
    escapes: list[str] = field(default_factory=list)  # exceptions other than a rejection
    bad_events: list[str] = field(default_factory=list)  # events breaking the contract


class _EveryContract(dict[str, InstrumentMeta]):
    """Open-mode metadata for a market whose sizes are contracts: every symbol the fuzzer makes
    up is a contract of 0.01 base, so frames reach the depth and ticker code instead of stopping
    at "no metadata" (the real listings' parsing has its own tests)."""

    def __init__(self, venue: Venue) -> None:
        super().__init__()
        self.venue = venue

    def get(self, native: str, default: Any = None) -> InstrumentMeta:  # type: ignore[override]
        meta = super().get(native)
        if meta is None:
            unified = self.venue.unified_instrument(native) or "BTC/USDT:USDT"
            meta = self[native] = InstrumentMeta(venue=self.venue.name, market=self.venue.market, native_symbol=native,
                                                 instrument=unified, status=TRADING, contract_size=0.01,
                                                 funding_interval_hours=8.0)
        return meta


def _fresh(name: str, market: str) -> Venue:
    venue = REGISTRY[name].venue_class(market)(market, SymbolMap())
    if venue.sizes_in_contracts:
        venue.metadata = _EveryContract(venue)
    venue.on_connected(time.time_ns())
    return venue


def event_problem(ev: MarketEvent) -> str | None:
    """Why an event breaks the parser contract, or None."""
    if isinstance(ev, Quote):
        for label, price in (("bid", ev.bid), ("ask", ev.ask)):
            if not (math.isfinite(price) and price > 0):
                return f"quote {label} {price!r}"
        for label, size in (("bid_size", ev.bid_size), ("ask_size", ev.ask_size)):
            if not (math.isfinite(size) and size >= 0):
                return f"quote {label} {size!r}"
    elif isinstance(ev, Book):
        for side, levels in (("bid", ev.bids), ("ask", ev.asks)):
            for price, size in levels:
                if not (math.isfinite(price) and price > 0 and math.isfinite(size) and size >= 0):
                    return f"book {side} level ({price!r}, {size!r})"
    elif isinstance(ev, Funding) and not (math.isfinite(ev.rate) and math.isfinite(ev.interval_hours)):
        return f"funding rate {ev.rate!r} interval {ev.interval_hours!r}"
    return None


def feed(venue: Venue, frames: Iterable[bytes], tally: Tally, binary: bool = False) -> None:
    """Parse each frame; count rejections, record escapes and contract-breaking events."""
    for frame in frames:
        tally.frames += 1
        try:
            parsed = venue.parse_binary(frame, time.time_ns()) if binary else venue.parse(frame, time.time_ns())
        except REJECTED:
            tally.rejected += 1
            continue
        except Exception as exc:  # the contract: nothing but a rejection escapes
            tally.escapes.append(f"{type(exc).__name__}: {exc} <- {frame[:120]!r}")
            continue
        tally.events += len(parsed.events)
        for ev in parsed.events:
            why = event_problem(ev)
            if why is not None:
                tally.bad_events.append(f"{why} <- {frame[:120]!r}")


def fixture_frames(name: str) -> list[bytes]:
    """The venue's real WebSocket frames, file by file in order (REST snapshot lines included)."""
    out: list[bytes] = []
    for path in sorted((FIXTURES / name).glob("*.jsonl")):
        out.extend(line.strip() for line in path.read_bytes().splitlines() if line.strip())
    return out


# ---- hostile frames made by hand --------------------------------------------------------------


def _leaves(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _leaves(v, (*path, i))
    else:
        yield path


def _replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {k: (_replaced(v, rest, value) if k == head else v) for k, v in doc.items()}
    return [(_replaced(v, rest, value) if i == head else v) for i, v in enumerate(doc)]


def _dropped(doc: Any, path: tuple[Any, ...]) -> Any:
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {k: (_dropped(v, rest) if rest and k == head else v) for k, v in doc.items() if rest or k != head}
    return [(_dropped(v, rest) if rest and i == head else v) for i, v in enumerate(doc) if rest or i != head]


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), allow_nan=True).encode()


def hostile_frames(name: str, rng: random.Random, per_frame: int = 12) -> Iterator[bytes]:
    """Generic hostile frames, then each fixture frame with its values replaced, keys dropped,
    truncated, nested, broken in UTF-8, and its quotes crossed."""
    yield from (b"", b"{", b"[", b"}", b"null", b"0", b'"x"', b"{}", b"[]", b'{"":{}}', b"\xff\xfe\xfd", b"\x00" * 16,
                b"[" * 3000 + b"]" * 3000, b'{"a":' * 3000 + b"1" + b"}" * 3000, b'{"data":' + b"[" * 5000 + b"]" * 5000 + b"}")
    for frame in fixture_frames(name):
        yield frame[: len(frame) // 2]
        yield frame[:-1]
        yield frame[:12] + b"\xc3\x28" + frame[12:]
        yield frame.replace(b'"', b'"\xff', 1)
        yield b'{"x":' * 2000 + frame + b"}" * 2000
        try:
            doc = json.loads(frame)
        except ValueError:
            continue
        leaves = list(_leaves(doc))
        for path in rng.sample(leaves, min(per_frame, len(leaves))):
            yield _dump(_replaced(doc, path, rng.choice(NASTY_NUMBERS)))
            yield _dump(_dropped(doc, path)) if path else b""
        # Crossed: the bid fields swapped with the ask ones where a frame has both.
        yield frame.replace(b"bid", b"\x00").replace(b"ask", b"bid").replace(b"\x00", b"ask")
        yield frame  # and the real frame again, after all that


@pytest.mark.parametrize(("name", "market"), CASES, ids=IDS)
def test_hostile_frames_are_counted_rejections_and_no_event_breaks_the_contract(name: str, market: str) -> None:
    venue = _fresh(name, market)
    tally = Tally()
    feed(venue, fixture_frames(name), tally)
    feed(venue, hostile_frames(name, random.Random(f"{name}-{market}")), tally)
    assert tally.frames > 100
    assert tally.escapes == [], f"{len(tally.escapes)} escapes, first: {tally.escapes[:3]}"
    assert tally.bad_events == [], f"{len(tally.bad_events)} bad events, first: {tally.bad_events[:3]}"


# ---- hypothesis mutations of the fixtures ------------------------------------------------------


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
    | st.sampled_from([str(x) for x in NASTY_NUMBERS if isinstance(x, str)]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8,
)


@st.composite
def mutated(draw: st.DrawFn, frames: list[bytes]) -> bytes:
    """One fixture frame with one to three JSON-aware or byte-level mutations."""
    frame = draw(st.sampled_from(frames))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["value", "value", "drop", "bytes", "truncate", "splice"]))
        try:
            doc = json.loads(frame)
        except ValueError:
            doc = None
        leaves = list(_leaves(doc)) if kind in ("value", "drop") and doc is not None else []
        if leaves:
            path = draw(st.sampled_from(leaves))
            frame = _dump(_replaced(doc, path, draw(_json_values))) if kind == "value" or not path else _dump(_dropped(doc, path))
        elif kind == "truncate" and frame:
            frame = frame[: draw(st.integers(0, len(frame) - 1))]
        elif kind == "splice":
            frame = frame + draw(st.sampled_from(frames))
        elif frame:
            at = draw(st.integers(0, len(frame) - 1))
            frame = frame[:at] + draw(st.binary(min_size=1, max_size=3)) + frame[at + 1 :]
    return frame


FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


@pytest.mark.parametrize(("name", "market"), CASES, ids=IDS)
def test_hypothesis_mutations_of_the_fixtures_never_escape(name: str, market: str) -> None:
    frames = fixture_frames(name)
    venue = _fresh(name, market)
    tally = Tally()
    feed(venue, frames, tally)

    @FUZZ
    @given(frame=mutated(frames), then=st.sampled_from(frames))
    def check(frame: bytes, then: bytes) -> None:
        feed(venue, [frame, then], tally)  # a real frame after each mutant: the state must hold up
        assert tally.escapes == [], tally.escapes[:3]
        assert tally.bad_events == [], tally.bad_events[:3]

    check()


# ---- Paradex binary SBE ------------------------------------------------------------------------


def sbe_frames(market: str = "BTC-USD-PERP") -> list[bytes]:
    """A BBO, a book snapshot and a delta, and a funding frame, as the simulator encodes them."""
    m = sbe.mantissa
    sym = (market.encode(),)
    return [
        sbe.encode(sbe.BOOK, {"ts": 1, "seq": 1, "pkgType": sbe.SNAPSHOT}, groups=([(m(100.0), m(1.0))], [(m(101.0), m(2.0))]), data=sym),
        sbe.encode(sbe.BOOK, {"ts": 2, "seq": 2, "pkgType": sbe.DELTA}, groups=([(m(99.5), m(1.0))], [(m(101.0), 0)]), data=sym),
        sbe.encode(sbe.BBO, {"ts": 3, "seq": 2, "bidPrice": m(100.0), "bidSize": m(1.0), "askPrice": m(101.0),
                             "askSize": m(2.0)}, data=sym),
        sbe.encode(sbe.FUNDING_DATA, {"ts": 4, "seq": 1, "fundingRate": 10_000, "fundingPeriodHours": 8,
                                      "createdAt": 4}, data=sym),
    ]


def test_paradex_sbe_fixtures_parse_to_events() -> None:
    tally = Tally()
    feed(_fresh("paradex", "perp"), sbe_frames(), tally, binary=True)
    assert tally.events >= 3 and tally.rejected == 0 and not tally.escapes and not tally.bad_events


@FUZZ
@given(data=st.data())
def test_paradex_sbe_mutations_never_escape(data: st.DataObject) -> None:
    frames = sbe_frames()
    venue = _fresh("paradex", "perp")
    tally = Tally()
    feed(venue, frames[:1], tally, binary=True)
    frame = bytearray(data.draw(st.sampled_from(frames)))
    kind = data.draw(st.sampled_from(["bytes", "truncate", "int64", "random"]))
    if kind == "bytes":
        for _ in range(data.draw(st.integers(1, 4))):
            frame[data.draw(st.integers(0, len(frame) - 1))] = data.draw(st.integers(0, 255))
    elif kind == "truncate":
        del frame[data.draw(st.integers(0, len(frame) - 1)):]
    elif kind == "int64":  # a field or level overwritten with an extreme int64: null, negative, huge
        at = data.draw(st.integers(8, max(8, len(frame) - 8)))
        value = data.draw(st.sampled_from([sbe.NULL, -1, 0, 2**63 - 1, -(2**62)]))
        frame[at : at + 8] = value.to_bytes(8, "little", signed=True)
    else:
        frame = bytearray(data.draw(st.binary(max_size=200)))
    feed(venue, [bytes(frame), *frames], tally, binary=True)
    assert tally.escapes == [], tally.escapes[:3]
    assert tally.bad_events == [], tally.bad_events[:3]
