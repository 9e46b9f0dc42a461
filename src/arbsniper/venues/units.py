"""Contracts to base units, exactly where decimal contract sizes allow it.

A venue whose sizes are contracts (KuCoin futures ``multiplier``, Coinbase futures
``contract_size``) has its parser turn each size into base units with the instrument's contract
size. ``contract_scale`` is computed once per instrument (cold path); the hot path multiplies and
divides by the two numbers it gives: 83 contracts of 0.01 are 83 / 100 = 0.83, where 83 * 0.01 is
0.8300000000000001. The simulators use the same scale, so their reference books compare equal.
"""

from __future__ import annotations

import math

Scale = tuple[float, float]  # (mul, div): base units = contracts * mul / div
UNIT: Scale = (1.0, 1.0)


def contract_scale(contract_size: float) -> Scale:
    """How contracts of ``contract_size`` base units become base units: 0.01 gives (1, 100), 10
    gives (10, 1); a size without a whole reciprocal (0.3) multiplies."""
    if not (contract_size > 0.0 and math.isfinite(contract_size)):
        raise ValueError(f"contract size must be positive and finite, got {contract_size}")
    if contract_size < 1.0:
        per = round(1.0 / contract_size)
        if abs(per * contract_size - 1.0) < 1e-9:
            return 1.0, float(per)
    return contract_size, 1.0


def contracts_to_base(contracts: float, contract_size: float) -> float:
    """Base units in ``contracts`` of ``contract_size`` (cold path; parsers cache ``contract_scale``)."""
    mul, div = contract_scale(contract_size)
    return contracts * mul / div


__all__ = ["UNIT", "Scale", "contract_scale", "contracts_to_base"]
