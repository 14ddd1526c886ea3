"""The load client: a separate process holding many WebSocket connections (asyncio and the
websockets library's Sans-I/O protocol, class Wire).

It is driven by the bench process over stdin/stdout, one JSON command per line, one JSON reply
per line, so that the clients never share a process (or an event loop) with what they measure:

- `connect` {targets: [[ws_url, headers], …], origin, concurrency, timeout} — open every
  connection (at most `concurrency` handshakes at a time), time each handshake;
- `ready` {timeout} — each connection sends `{"type":"ping"}` and waits for its pong, which
  proves the server-side consumer is running (authenticated, subscribed) for every connection;
- `watch` {marker} — from now on, record (monotonic time, text) of every frame containing marker;
- `collect` {t0, expected: [{marker, type, id, data}], timeout} — wait until each connection has
  one frame per expected event (or the timeout), then verify every frame — event id, type and
  the whole data object — and report latencies from t0 (time.monotonic() of the bench process:
  CLOCK_MONOTONIC is one clock for every process of the machine);
- `send` {frames: [text|null per connection], reply_markers, timeout, rate} — each connection
  sends its frame at once (or, with `rate`, the i-th at start + i/rate: an offered load of
  `rate` frames a second) and times the first frame back that contains one of reply_markers;
- `dump` {} — the frames recorded by `watch` on every connection, [[time, text], …] each;
- `http` {requests: [[method, path, headers, body]…], host, ports, concurrency, timeout} — the
  same over `concurrency` HTTP/1.1 keep-alive connections spread over the ports (a minimal
  client: no HTTP client library is installed);
- `close` — close everything and exit.

Receiving stays cheap on purpose (a substring test and an append): parsing and verification
happen after the clock stops, so the client adds as little as possible to what it measures.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHandshake
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.protocol import State as WireState
from websockets.typing import Origin
from websockets.uri import parse_uri

from bench.stats import raise_nofile_limit, summary_ms


class Closed(Exception):
    """The connection is closed: nothing can be sent on it."""


class Wire(asyncio.Protocol):
    """One WebSocket connection: websockets' own Sans-I/O protocol (handshake, framing, pings,
    close) on an asyncio transport.

    A frame is recorded in `data_received`, where it arrives. websockets' asyncio connection
    class would hand each message through a queue and a future to a reader task: three wake-ups
    per frame that cost the load client ~60 µs a frame and, with one frame on each of 10,000
    connections, made the client — not the server under test — set the pace of the last
    deliveries (docs/performance.md, "The load client").
    """

    def __init__(self, url: str, origin: str | None, headers: dict[str, str]) -> None:
        self.protocol = ClientProtocol(
            parse_uri(url), origin=Origin(origin) if origin else None, max_size=2**22,
        )
        self.headers = headers
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.conn: Conn | None = None
        self.parts: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        request = self.protocol.connect()
        for name, value in self.headers.items():
            request.headers[name] = value
        self.protocol.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if not self.opened.done():
                    error = self.protocol.handshake_exc
                    if error is None:
                        self.opened.set_result(None)
                    else:
                        self.opened.set_exception(error)
                continue
            if event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                self.parts.append(event.data)
                if event.fin:
                    text = b"".join(self.parts).decode()
                    self.parts.clear()
                    if self.conn is not None:
                        self.conn.received(now, text)
        self._flush()

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.protocol.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def connection_lost(self, exc: Exception | None) -> None:
        self.protocol.receive_eof()
        if not self.opened.done():
            self.opened.set_exception(exc or InvalidHandshake("connection closed in handshake"))
        if not self.lost.done():
            self.lost.set_result(None)
        if self.conn is not None:
            close = self.protocol.close_rcvd
            self.conn.ended(str(close.code) if close is not None else "no close frame")

    def send(self, text: str) -> None:
        if self.protocol.state is not WireState.OPEN:
            raise Closed
        self.protocol.send_text(text.encode())
        self._flush()

    async def close(self) -> None:
        if self.protocol.state is WireState.OPEN and self.transport is not None:
            self.protocol.send_close(1000)
            self._flush()
        try:
            await asyncio.wait_for(asyncio.shield(self.lost), 2)
        except TimeoutError:
            if self.transport is not None:
                self.transport.abort()


async def open_wire(url: str, origin: str | None, headers: dict[str, str], conn: Conn,
                    within: float) -> Wire:
    """Connect and complete the WebSocket handshake (InvalidStatus if the server refuses);
    frames go to `conn` from the first one (one may come in the handshake's packet)."""
    uri = parse_uri(url)
    loop = asyncio.get_running_loop()

    def make() -> Wire:
        wire = Wire(url, origin, headers)
        wire.conn = conn
        return wire

    async def opening() -> Wire:
        _, wire = await loop.create_connection(make, uri.host, uri.port)
        try:
            await wire.opened
        except BaseException:
            if wire.transport is not None:
                wire.transport.abort()
            raise
        return wire

    return await asyncio.wait_for(opening(), within)


class Conn:
    __slots__ = ("closed", "frames", "other", "state", "waiter", "ws")

    def __init__(self, state: State) -> None:
        self.ws: Wire
        self.state = state
        self.frames: list[tuple[float, str]] = []
        self.other: list[tuple[float, str]] = []
        self.waiter: asyncio.Future | None = None
        self.closed: str | None = None

    def received(self, now: float, text: str) -> None:
        state = self.state
        marker = state.marker
        if marker is not None and marker in text:
            self.frames.append((now, text))
            state.received += 1
            state.progress.set()
        else:
            self.other.append((now, text))
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(None)

    def ended(self, code: str) -> None:
        self.closed = code
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)
        self.state.progress.set()


class State:
    def __init__(self) -> None:
        self.conns: list[Conn] = []
        self.marker: str | None = None
        self.received = 0
        self.progress = asyncio.Event()


async def cmd_connect(state: State, cmd: dict[str, Any]) -> dict[str, Any]:
    semaphore = asyncio.Semaphore(cmd.get("concurrency", 200))
    durations: list[float] = []
    errors: dict[str, int] = {}

    async def one(url: str, headers: dict[str, str]) -> None:
        async with semaphore:
            started = time.monotonic()
            conn = Conn(state)
            try:
                conn.ws = await open_wire(url, cmd.get("origin"), headers, conn,
                                          cmd.get("timeout", 60))
            except Exception as exc:
                key = f"{type(exc).__name__}: {exc}"[:160]
                errors[key] = errors.get(key, 0) + 1
                return
            durations.append(time.monotonic() - started)
            state.conns.append(conn)

    started = time.monotonic()
    await asyncio.gather(*(one(url, headers) for url, headers in cmd["targets"]))
    elapsed = time.monotonic() - started
    return {
        "connected": len(durations),
        "failed": sum(errors.values()),
        "errors": errors,
        "elapsed_s": round(elapsed, 3),
        "per_second": round(len(durations) / elapsed, 1) if elapsed else None,
        "handshake": summary_ms(durations),
        "raw": durations,
    }


async def cmd_ready(state: State, cmd: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + cmd.get("timeout", 60)
    durations: list[float] = []

    async def one(conn: Conn) -> None:
        if conn.closed is not None:
            return
        start_index = len(conn.other)
        started = time.monotonic()
        try:
            conn.ws.send('{"type":"ping"}')
        except Closed:
            return
        while conn.closed is None:
            if any('"pong"' in text for _, text in conn.other[start_index:]):
                durations.append(time.monotonic() - started)
                return
            conn.waiter = loop.create_future()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(conn.waiter, remaining)
            except TimeoutError:
                return

    await asyncio.gather(*(one(conn) for conn in state.conns))
    closed: dict[str, int] = {}
    for conn in state.conns:
        if conn.closed is not None:
            closed[conn.closed] = closed.get(conn.closed, 0) + 1
    return {
        "ready": len(durations),
        "open": sum(1 for conn in state.conns if conn.closed is None),
        "closed": closed,
        "ping": summary_ms(durations),
        "raw": durations,
    }


async def cmd_watch(state: State, cmd: dict[str, Any]) -> dict[str, Any]:
    state.marker = cmd["marker"]
    state.received = 0
    for conn in state.conns:
        conn.frames = []
    return {"watching": state.marker}


def _verify(frame_text: str, expected: dict[str, Any]) -> str | None:
    """None if the frame is the expected event, else what is wrong with it."""
    try:
        frame = json.loads(frame_text)
    except ValueError:
        return "not JSON"
    if frame.get("type") != expected["type"]:
        return f"type {frame.get('type')!r}"
    if expected.get("id") is not None and frame.get("id") != expected["id"]:
        return f"id {frame.get('id')!r} != {expected['id']!r}"
    if not isinstance(frame.get("id"), int):
        return "no integer event id"
    if expected.get("data") is not None and frame.get("data") != expected["data"]:
        return "data differs"
    return None


async def cmd_collect(state: State, cmd: dict[str, Any]) -> dict[str, Any]:
    expected: list[dict[str, Any]] = cmd["expected"]
    t0: float = cmd["t0"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + cmd.get("timeout", 30)
    conns = state.conns
    target = len(conns) * len(expected)
    # Counting frames is the cheap test while deliveries pour in, but a duplicate counts too:
    # once enough frames arrived (or nothing came for 0.5 s: closed connections), confirm per
    # connection before the clock stops.
    scan = False
    while loop.time() < deadline:
        if (scan or state.received >= target) and all(
            conn.closed is not None or len(conn.frames) >= len(expected) for conn in conns
        ):
            break
        state.progress.clear()
        try:
            await asyncio.wait_for(state.progress.wait(), min(0.5, deadline - loop.time()))
            scan = False
        except TimeoutError:
            scan = True
    collected_at = time.monotonic()

    by_marker = {item["marker"]: item for item in expected}
    latencies: list[float] = []
    first_per_conn: list[float] = []
    last_per_conn: list[float] = []
    ok = missing = bad = duplicates = 0
    problems: dict[str, int] = {}
    for conn in conns:
        seen: set[str] = set()
        for received_at, text in conn.frames:
            marker = next((m for m in by_marker if m in text), None)
            if marker is None:
                continue
            if marker in seen:
                duplicates += 1
                continue
            seen.add(marker)
            problem = _verify(text, by_marker[marker])
            if problem is not None:
                bad += 1
                problems[problem] = problems.get(problem, 0) + 1
                continue
            ok += 1
            latencies.append(received_at - by_marker[marker].get("t0", t0))
        missing += len(expected) - len(seen)
        if conn.frames:
            first_per_conn.append(conn.frames[0][0] - t0)
            last_per_conn.append(conn.frames[-1][0] - t0)
    last = max(last_per_conn) if last_per_conn else None
    return {
        "connections": len(conns),
        "open": sum(1 for conn in conns if conn.closed is None),
        "expected": target,
        "ok": ok,
        "missing": missing,
        "bad": bad,
        "duplicates": duplicates,
        "problems": problems,
        "latency": summary_ms(latencies),
        "first_ms": round(min(latencies) * 1000, 1) if latencies else None,
        "last_s": round(last, 4) if last is not None else None,
        "waited_s": round(collected_at - t0, 3),
        "raw": latencies,
    }


async def cmd_send(state: State, cmd: dict[str, Any]) -> dict[str, Any]:
    """Each connection sends its frame at once (or paced at `rate` a second); time the first
    reply containing a marker."""
    frames: list[str | None] = cmd["frames"]
    markers: list[str] = cmd["reply_markers"]
    rate: float | None = cmd.get("rate")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + cmd.get("timeout", 60)
    durations: list[float] = []
    replies: dict[str, int] = {}
    sent_at: list[float] = []
    done_at: list[float] = []

    async def one(conn: Conn, frame: str, index: int) -> None:
        if rate:
            delay = begin + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        start_index = len(conn.other)
        started = time.monotonic()
        try:
            conn.ws.send(frame)
        except Closed:
            replies["closed before send"] = replies.get("closed before send", 0) + 1
            return
        sent_at.append(started)
        while conn.closed is None:
            for received_at, text in conn.other[start_index:]:
                if any(marker in text for marker in markers):
                    durations.append(received_at - started)
                    done_at.append(received_at)
                    key = text[:120]
                    replies[key] = replies.get(key, 0) + 1
                    return
            conn.waiter = loop.create_future()
            remaining = deadline - loop.time()
            if remaining <= 0:
                replies["timeout"] = replies.get("timeout", 0) + 1
                return
            try:
                await asyncio.wait_for(conn.waiter, remaining)
            except TimeoutError:
                pass
        replies[f"closed {conn.closed}"] = replies.get(f"closed {conn.closed}", 0) + 1

    started = begin = time.monotonic()
    pairs = [(conn, frame) for conn, frame in zip(state.conns, frames, strict=False) if frame]
    await asyncio.gather(*(one(conn, frame, index) for index, (conn, frame) in enumerate(pairs)))
    elapsed = (max(done_at) - started) if done_at else None
    return {
        "sent": len(sent_at),
        "answered": len(durations),
        "elapsed_s": round(elapsed, 3) if elapsed else None,
        "per_second": round(len(durations) / elapsed, 1) if elapsed else None,
        "latency": summary_ms(durations),
        "replies": dict(sorted(replies.items(), key=lambda item: -item[1])[:8]),
        "raw": durations,
        "started": started,
        "finished": max(done_at) if done_at else None,
    }


async def _http_exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
        elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
        return status, body
    return status, await reader.readexactly(length)


async def cmd_http(state: State, cmd: dict[str, Any]) -> dict[str, Any]:
    """Send the requests over `concurrency` keep-alive connections; time each response."""
    host, ports = cmd["host"], cmd["ports"]
    queue: asyncio.Queue = asyncio.Queue()
    for item in cmd["requests"]:
        queue.put_nowait(item)
    durations: list[float] = []
    statuses: dict[str, int] = {}

    async def worker(port: int) -> None:
        reader_, writer = await asyncio.open_connection(host, port)
        try:
            while not queue.empty():
                method, path, headers, body = queue.get_nowait()
                payload = (body or "").encode()
                head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
                head += f"Content-Length: {len(payload)}\r\n\r\n"
                started = time.monotonic()
                status, response = await _http_exchange(reader_, writer, head.encode() + payload)
                durations.append(time.monotonic() - started)
                key = f"{status} {response[:100].decode(errors='replace')}"
                statuses[key] = statuses.get(key, 0) + 1
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(worker(ports[i % len(ports)])
                           for i in range(cmd.get("concurrency", 50))))
    elapsed = time.monotonic() - started
    return {
        "requests": len(durations),
        "elapsed_s": round(elapsed, 3),
        "per_second": round(len(durations) / elapsed, 1) if elapsed else None,
        "latency": summary_ms(durations),
        "statuses": dict(sorted(statuses.items(), key=lambda item: -item[1])[:8]),
        "raw": durations,
        "started": started,
        "finished": started + elapsed,
    }


async def cmd_dump(state: State, cmd: dict[str, Any]) -> dict[str, Any]:
    return {"frames": [conn.frames for conn in state.conns]}


async def cmd_close(state: State, cmd: dict[str, Any]) -> dict[str, Any]:
    await asyncio.gather(*(conn.ws.close() for conn in state.conns), return_exceptions=True)
    count = len(state.conns)
    state.conns = []
    return {"closed": count}


COMMANDS = {
    "connect": cmd_connect,
    "ready": cmd_ready,
    "watch": cmd_watch,
    "collect": cmd_collect,
    "send": cmd_send,
    "http": cmd_http,
    "dump": cmd_dump,
    "close": cmd_close,
}


async def main() -> None:
    raise_nofile_limit()
    state = State()
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            break
        cmd = json.loads(line)
        try:
            reply = await COMMANDS[cmd["cmd"]](state, cmd)
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if cmd["cmd"] == "close" and cmd.get("exit", True):
            break


if __name__ == "__main__":
    asyncio.run(main())
