"""Measure WebSocket client receive cost: ``websockets`` vs ``picows`` on the same local stream.

A picows server in a child process pushes N Binance-sized bookTicker frames to each client as
fast as it can; the client only receives the text (what a connector must do before parsing).
Reported: frames/s and µs of client CPU per frame (process time, so the server's core is excluded).

Usage: PYTHONPATH=src python tools/ws_client_bench.py [N]
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import sys
import time

FRAME = (
    b'{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"97012.34000000",'
    b'"B":"31.21000000","a":"97012.35000000","A":"40.66000000"}}'
)


def _serve(port_q: mp.Queue, n: int) -> None:
    import picows

    class Pusher(picows.WSListener):
        def on_ws_connected(self, transport: picows.WSTransport) -> None:
            asyncio.get_running_loop().create_task(self.push(transport))

        async def push(self, transport: picows.WSTransport) -> None:
            for i in range(n):
                transport.send(picows.WSMsgType.TEXT, FRAME)
                if i % 256 == 0:
                    await asyncio.sleep(0)
            transport.send(picows.WSMsgType.TEXT, b"END")

    async def main() -> None:
        server = await picows.ws_create_server(lambda _r: Pusher(), "127.0.0.1", 0)
        port_q.put(server.sockets[0].getsockname()[1])
        await asyncio.sleep(3600)

    asyncio.run(main())


async def _websockets_client(url: str) -> int:
    from websockets.asyncio.client import connect

    count = 0
    async with connect(url, max_size=None, max_queue=None, compression=None) as ws:
        async for msg in ws:
            if msg == "END":
                break
            count += 1
    return count


async def _picows_client(url: str) -> int:
    import picows

    done = asyncio.get_running_loop().create_future()

    class Counter(picows.WSListener):
        count = 0

        def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
            text = frame.get_payload_as_utf8_text()
            if text == "END":
                done.set_result(self.count)
                transport.disconnect()
                return
            self.count += 1

    transport, _ = await picows.ws_connect(Counter, url)
    return await done


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    q: mp.Queue = mp.Queue()
    proc = mp.Process(target=_serve, args=(q, n), daemon=True)
    proc.start()
    url = f"ws://127.0.0.1:{q.get()}/"
    try:
        for name, client in (("websockets", _websockets_client), ("picows", _picows_client)) * 2:
            t0, c0 = time.perf_counter(), time.process_time()
            got = asyncio.run(client(url))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            print(f"{name:10s} frames={got} wall={wall:.3f}s {got / wall:,.0f} frames/s  client cpu {cpu / got * 1e6:.2f} us/frame")
    finally:
        proc.kill()


if __name__ == "__main__":
    main()
