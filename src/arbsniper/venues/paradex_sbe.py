"""Paradex market data in SBE: the layouts of schema 1 that ``paradex.py`` decodes and the simulator encodes.

Facts from Paradex's published schema ``paradex_1_0.xml`` (schema id 1, versions 0-2, as shipped
in the ``paradex-py`` 0.8.2 wheel; a copy is ``tests/fixtures/paradex/sbe_paradex_1_0.xml``, and a
test checks every layout here against it) and docs.paradex.trade "Binary Encoding (SBE)":

- one binary WebSocket frame = one message, little-endian: an 8-byte header
  ``uint16 blockLength, uint16 templateId, uint16 schemaId, uint16 version``; the root block of
  ``blockLength`` bytes (fixed fields in declaration order; a later version appends fields, so a
  decoder takes the end of the block from the header, never from its own layout); then each
  repeating group (``uint16 blockLength, uint16 numInGroup``, then ``numInGroup`` entries of
  ``blockLength`` bytes each, which may also have grown); then var data (``uint8 length`` + UTF-8).
- prices, sizes, USD values and ``Rate8`` are ``int64`` mantissas with the constant exponent -8,
  ``Rate12`` exponent -12; the null of an optional one is ``INT64_MIN``; timestamps are ``int64``
  microseconds since the epoch.
- unknown template ids are allowed and must be skipped (the schema's versioning policy).

Only the public templates are laid out here (and the private ones are never subscribed).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SCHEMA_ID = 1
SCHEMA_VERSION = 1  # what we negotiate (docs: "sbeSchemaVersion 0 or 1. Use 1.")
NULL = -(2**63)  # INT64_MIN: an optional price / size / rate that is absent
SCALE_8 = 100_000_000.0  # Price8, Qty8, Value8, Rate8: value = mantissa / 1e8
SCALE_12 = 1_000_000_000_000.0  # Rate12

HEADER = struct.Struct("<HHHH")  # blockLength, templateId, schemaId, version
GROUP = struct.Struct("<HH")  # blockLength, numInGroup
LEVEL = struct.Struct("<qq")  # a book group entry: price (Price8), size (Qty8; 0 = delete the level)
INT64 = struct.Struct("<q")


@dataclass(frozen=True)
class Template:
    """One message of the schema: its root-block fields ``(name, struct code, sinceVersion)`` in
    wire order, its repeating groups (every public group is ``LEVEL`` entries) and var-data names."""

    name: str
    template_id: int
    fields: tuple[tuple[str, str, int], ...]
    groups: tuple[str, ...] = ()
    data: tuple[tuple[str, int], ...] = (("market", 0),)
    _offsets: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        off = 0
        for name, code, _ in self.fields:
            self._offsets[name] = off
            off += struct.calcsize("<" + code)

    def layout(self, version: int) -> str:
        """The struct format of the root block as version ``version`` lays it out."""
        return "<" + "".join(code for _, code, since in self.fields if since <= version)

    def block_length(self, version: int) -> int:
        return struct.calcsize(self.layout(version))

    def struct(self, version: int) -> struct.Struct:
        return struct.Struct(self.layout(version))

    def offset(self, name: str) -> int:
        """Where field ``name`` starts in the root block (fields are only ever appended)."""
        return self._offsets[name]

    def field_names(self, version: int) -> list[str]:
        return [name for name, _, since in self.fields if since <= version]


# Types: Timestamp / int64 / Price8* / Qty8* / Value8* / Rate8* / Rate12* are "q" (int64),
# enums and PkgType "B" (uint8), fundingPeriodHours "h" (int16).
TRADE = Template("TradeEvent", 1, (
    ("ts", "q", 0), ("seq", "q", 0), ("tradeId", "q", 0), ("side", "B", 0), ("price", "q", 0), ("size", "q", 0),
    ("createdAt", "q", 0), ("tradeType", "B", 0),
), data=(("market", 0), ("tradeIdStr", 2)))

BBO = Template("BboEvent", 2, (
    ("ts", "q", 0), ("seq", "q", 0), ("bidPrice", "q", 0), ("bidSize", "q", 0), ("askPrice", "q", 0), ("askSize", "q", 0),
))

BOOK = Template("BookEvent", 3, (
    ("ts", "q", 0), ("seq", "q", 0), ("pkgType", "B", 0),
    ("bestBidPrice", "q", 0), ("bestBidSize", "q", 0), ("bestAskPrice", "q", 0), ("bestAskSize", "q", 0),
    ("relativeSpread", "q", 0),
    ("bestBidApiPrice", "q", 0), ("bestBidApiSize", "q", 0), ("bestAskApiPrice", "q", 0), ("bestAskApiSize", "q", 0),
), groups=("bids", "asks"))
SNAPSHOT, DELTA = 0, 1  # BookEvent.pkgType

MARKET_SUMMARY = Template("MarketSummaryEvent", 4, (
    ("ts", "q", 0), ("seq", "q", 0), ("markPrice", "q", 0), ("indexPrice", "q", 0), ("lastPrice", "q", 0),
    ("volumeUsd24h", "q", 0), ("openInterest", "q", 0), ("fundingRate", "q", 0), ("bid", "q", 0), ("ask", "q", 0),
    ("totalVolume", "q", 0), ("priceChangeRate24h", "q", 0),
    ("markIv", "q", 0), ("bidIv", "q", 0), ("askIv", "q", 0), ("lastIv", "q", 0), ("delta", "q", 0), ("gamma", "q", 0),
    ("vega", "q", 0), ("theta", "q", 0), ("rho", "q", 0), ("volga", "q", 0), ("vanna", "q", 0),
    ("futureFundingRate", "q", 0), ("externalFairPrice", "q", 0), ("bidSize", "q", 0), ("askSize", "q", 0),
    ("forwardRate", "q", 1), ("riskFreeRate", "q", 1), ("fundingRatePrecise", "q", 1),
))

FUNDING_DATA = Template("FundingDataEvent", 5, (
    ("ts", "q", 0), ("seq", "q", 0), ("fundingRate", "q", 0), ("fundingIndex", "q", 0), ("createdAt", "q", 0),
    ("fundingPremium", "q", 0), ("fundingRate8h", "q", 0), ("fundingPeriodHours", "h", 0), ("impactPremiumRate", "q", 1),
))

FUNDING_RATE_COMPARISON = Template("FundingRateComparisonEvent", 6, (
    ("ts", "q", 0), ("lastUpdatedAt", "q", 0), ("hourlyFundingRate", "q", 0), ("assetKind", "B", 0), ("source", "B", 0),
))  # the whole message is new in 1:1; its fields carry no sinceVersion

HEARTBEAT = Template("HeartbeatEvent", 40, (("ts", "q", 0), ("seq", "q", 0)), data=())

PUBLIC_TEMPLATES = (TRADE, BBO, BOOK, MARKET_SUMMARY, FUNDING_DATA, FUNDING_RATE_COMPARISON, HEARTBEAT)
BY_ID = {t.template_id: t for t in PUBLIC_TEMPLATES}


def encode(
    template: Template,
    values: dict[str, int],
    version: int = SCHEMA_VERSION,
    groups: tuple[list[tuple[int, int]], ...] = (),
    data: tuple[bytes, ...] = (),
    extra_block: bytes = b"",
    extra_entry: bytes = b"",
) -> bytes:
    """One frame of ``template`` as version ``version`` lays it out (the simulator's encoder).

    ``values`` are the wire integers (mantissas, microseconds); a field not given is its null
    (``INT64_MIN``; 0 for the narrow types). ``extra_block`` / ``extra_entry`` append bytes a
    later version would add to the root block / to each group entry (tests of forward
    compatibility).
    """
    names = template.field_names(version)
    narrow = {name for name, code, _ in template.fields if code != "q"}
    block = template.struct(version).pack(*(values.get(n, 0 if n in narrow else NULL) for n in names)) + extra_block
    out = [HEADER.pack(len(block), template.template_id, SCHEMA_ID, version), block]
    entry_len = LEVEL.size + len(extra_entry)
    for levels in groups:
        out.append(GROUP.pack(entry_len, len(levels)))
        out.extend(LEVEL.pack(p, s) + extra_entry for p, s in levels)
    for text in data:
        out.append(bytes((len(text),)) + text)
    return b"".join(out)


def mantissa(value: float) -> int:
    """The int64 mantissa (exponent -8) of a price or size."""
    return round(value * SCALE_8)


__all__ = [
    "BBO", "BOOK", "BY_ID", "DELTA", "FUNDING_DATA", "FUNDING_RATE_COMPARISON", "GROUP", "HEADER", "HEARTBEAT", "INT64",
    "LEVEL", "MARKET_SUMMARY", "NULL", "PUBLIC_TEMPLATES", "SCALE_12", "SCALE_8", "SCHEMA_ID", "SCHEMA_VERSION",
    "SNAPSHOT", "TRADE", "Template", "encode", "mantissa",
]
