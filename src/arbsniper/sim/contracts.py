"""Simulated books in whole contracts: what a venue whose sizes are contracts can show.

The synthetic market's sizes are base units; a contract venue (KuCoin futures, Coinbase futures)
holds whole contracts, so its simulator rounds each level to whole contracts (at least one) and
publishes the counts. The book in base units it keeps as the reference is those counts converted
back with ``venues.units.contract_scale``, exactly as the connector converts them.
"""

from __future__ import annotations

from arbsniper.venues.units import contract_scale

Levels = list[tuple[float, float]]


def whole_contracts(levels: Levels, contract_size: float) -> tuple[Levels, list[int]]:
    """``levels`` rounded to whole contracts of ``contract_size``: (levels in base units, counts)."""
    mul, div = contract_scale(contract_size)
    counts = [max(1, round(size / contract_size)) for _, size in levels]
    return [(price, n * mul / div) for (price, _), n in zip(levels, counts, strict=True)], counts


__all__ = ["Levels", "whole_contracts"]
