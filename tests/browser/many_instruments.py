"""``arbsniper run --demo`` with a hundred and more instruments: the real connectors against the
simulator (in process) listing ``N`` made-up coins on three venues, and the dashboard on a free
port. Prints ``dashboard at URL`` on stderr like ``run``; stops on SIGINT. For the browser test."""

from __future__ import annotations

import asyncio
import sys

from arbsniper.app import App
from arbsniper.config import load_config
from arbsniper.instruments import SymbolMap
from arbsniper.logs import setup_logging
from arbsniper.sim.launch import SimulatedVenues
from arbsniper.sim.synthetic import Listing

VENUES = ("binance", "okx", "bybit")


def main(n: int, data_dir: str) -> int:
    config = load_config(environ={})
    import msgspec

    config = msgspec.structs.replace(config, data_dir=data_dir)
    setup_logging("INFO")
    symbols = SymbolMap()
    listings = [Listing(v, f"C{k:03d}/USDT") for k in range(n) for v in VENUES]
    app = App(config, [SimulatedVenues(config, symbols, seed=5, listings=listings)], symbols, trade=False,
              human_out=None)
    app.add_dashboard("127.0.0.1", 0, None)
    return asyncio.run(app.run(120.0))


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), sys.argv[2]))
