"""An SBE encoder driven by Paradex's published schema (``tests/fixtures/paradex/sbe_paradex_1_0.xml``).

Written from the SBE rules, not from paradex-py's codec and not from ``paradex_sbe.py``: it reads
the XML's types and messages, and lays a frame out byte by byte — header, root block of the
fields whose ``sinceVersion`` the version has (in declaration order), groups, var data. The
decoder's own layouts are checked against this, and its test frames are built with it.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from tests.conftest import FIXTURES

SCHEMA_XML = FIXTURES / "paradex" / "sbe_paradex_1_0.xml"
NS = {"sbe": "http://fixprotocol.io/2016/sbe"}
CODES = {"int8": "b", "uint8": "B", "int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "int64": "q", "uint64": "Q"}
INT64_MIN = -(2**63)


@dataclass(frozen=True)
class XmlField:
    name: str
    code: str  # struct code of the encoded field ("q", "B", "h", "32B" …)
    since: int


@dataclass(frozen=True)
class XmlMessage:
    name: str
    template_id: int
    fields: tuple[XmlField, ...]
    groups: tuple[tuple[str, tuple[XmlField, ...]], ...]
    data: tuple[tuple[str, int], ...]  # (name, sinceVersion)

    def block(self, version: int) -> list[XmlField]:
        return [f for f in self.fields if f.since <= version]

    def block_length(self, version: int) -> int:
        return struct.calcsize("<" + "".join(f.code for f in self.block(version)))


def _type_codes(types: ET.Element) -> dict[str, str]:
    codes = dict(CODES)
    for t in types:
        name = t.get("name", "")
        if t.tag == "type":
            length = int(t.get("length", "1"))
            codes[name] = (str(length) if length > 1 else "") + CODES[t.get("primitiveType", "")]
        elif t.tag in ("enum", "set"):
            codes[name] = CODES[t.get("encodingType", "")]
        elif t.tag == "composite":
            members = [m for m in t if m.tag == "type" and m.get("presence") != "constant" and int(m.get("length", "1")) > 0]
            codes[name] = "".join(CODES[m.get("primitiveType", "")] for m in members)
    return codes


def load() -> dict[int, XmlMessage]:
    """Every message of the schema by template id."""
    root = ET.parse(SCHEMA_XML).getroot()
    types = root.find("types")
    assert types is not None
    codes = _type_codes(types)

    def fields_of(element: ET.Element) -> tuple[XmlField, ...]:
        return tuple(XmlField(f.get("name", ""), codes[f.get("type", "")], int(f.get("sinceVersion", "0")))
                     for f in element if f.tag == "field")

    out = {}
    for m in root.findall("sbe:message", NS):
        groups = tuple((g.get("name", ""), fields_of(g)) for g in m if g.tag == "group")
        data = tuple((d.get("name", ""), int(d.get("sinceVersion", "0"))) for d in m if d.tag == "data")
        out[int(m.get("id", "0"))] = XmlMessage(m.get("name", ""), int(m.get("id", "0")), fields_of(m), groups, data)
    return out


MESSAGES = load()
SCHEMA_ID = int(ET.parse(SCHEMA_XML).getroot().get("id", "0"))


def frame(
    template_id: int,
    version: int = 1,
    values: dict[str, int] | None = None,
    groups: dict[str, list[tuple[int, ...]]] | None = None,
    data: dict[str, bytes] | None = None,
    extra_block: bytes = b"",
    extra_entry: bytes = b"",
    schema_id: int = SCHEMA_ID,
    template_override: int | None = None,
) -> bytes:
    """One SBE frame of ``template_id`` as the schema lays it out at ``version``.

    Fields not in ``values`` get the null of their type (INT64_MIN for int64, 0 otherwise);
    ``extra_block`` / ``extra_entry`` are bytes a later version would append to the root block /
    to each group entry.
    """
    msg = MESSAGES[template_id]
    values = values or {}
    block = b"".join(struct.pack("<" + f.code, values.get(f.name, INT64_MIN if f.code == "q" else 0)) for f in msg.block(version))
    block += extra_block
    out = struct.pack("<HHHH", len(block), template_override if template_override is not None else template_id, schema_id, version) + block
    for name, gfields in msg.groups:
        entries = (groups or {}).get(name, [])
        entry_len = struct.calcsize("<" + "".join(f.code for f in gfields)) + len(extra_entry)
        out += struct.pack("<HH", entry_len, len(entries))
        for entry in entries:
            out += b"".join(struct.pack("<" + f.code, v) for f, v in zip(gfields, entry, strict=True)) + extra_entry
    for name, since in msg.data:
        if since <= version:
            text = (data or {}).get(name, b"")
            out += struct.pack("<B", len(text)) + text
    return out
