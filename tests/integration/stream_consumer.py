"""A stream consumer process for the distributed integration test (run as a script, not collected).

Reads the signal stream through a consumer group with ``SignalStreamReader``, writes one JSON
line per entry to ``--out`` (entry id, uid, symbols), acknowledges it only after the line is
flushed, and exits cleanly on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

from arbsniper.bus.redis import SignalStreamReader
from arbsniper.config import RedisConfig


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--consumer", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    reader = SignalStreamReader(RedisConfig(url=args.url), args.group, args.consumer, start_id="0", block_ms=200)
    with open(args.out, "a", buffering=1) as out:
        while not stop.is_set():
            entries = await reader.read()
            for e in entries:
                out.write(json.dumps({"entry_id": e.entry_id, "uid": e.uid, "symbol": e.signal.symbol,
                                      "buy_instrument": e.signal.buy_instrument,
                                      "sell_instrument": e.signal.sell_instrument,
                                      "id": e.signal.id, "event": e.signal.event,
                                      "timestamp": e.signal.timestamp}) + "\n")
            out.flush()
            if entries:
                await reader.ack(*(e.entry_id for e in entries))
    await reader.close()


if __name__ == "__main__":
    asyncio.run(main())
