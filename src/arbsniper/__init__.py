"""Arbitrage Sniper: cross-venue crypto arbitrage detection."""

__version__ = "0.1.0"
