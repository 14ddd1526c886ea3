"""The bare floor: a `websockets`-only server (no Django, no channel layer) that broadcasts.

It speaks just enough of our protocol for the same load client to drive it: `{"type":"ping"}`
gets `{"type":"pong"}`, and a connection to `/control` may send `{"broadcast": [text, …]}`, which
is sent to every other connection with `websockets.asyncio.server.broadcast` (one write per
connection, the frame encoded once). What this server achieves on the same machine, with the
same client, in the same run is the floor our gateway is measured against.

Run: `python -m bench.floor --port 8765` (the benchmarks start it themselves).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bench.stats import raise_nofile_limit

CLIENTS: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    if ws.request is not None and ws.request.path == "/control":
        async for text in ws:
            command = json.loads(text)
            for frame in command["broadcast"]:
                broadcast(CLIENTS, frame)
            await ws.send(json.dumps({"sent": len(CLIENTS)}))
        return
    CLIENTS.add(ws)
    try:
        async for text in ws:
            if text == '{"type":"ping"}':
                await ws.send('{"type":"pong"}')
    except ConnectionClosed:
        pass
    finally:
        CLIENTS.discard(ws)


def health(connection: ServerConnection, request: Request) -> Response | None:
    if request.path == "/healthz":
        return connection.respond(200, "ok\n")
    return None


async def main(port: int) -> None:
    raise_nofile_limit()
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(
        handler, "127.0.0.1", port, compression=None, ping_interval=None, process_request=health,
        backlog=4096,
    ):
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    asyncio.run(main(parser.parse_args().port))
