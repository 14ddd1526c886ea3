"""The load client: a separate process holding many WebSocket connections (asyncio + websockets).

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
- `send` {frames: [text|null per connection], reply_markers, timeout} — each connection sends
  its frame at once and times the first frame back that contains one of reply_markers;
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

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.stats import raise_nofile_limit, summary_ms


class Conn:
    __slots__ = ("closed", "frames", "other", "task", "waiter", "ws")

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[tuple[float, str]] = []
        self.other: list[tuple[float, str]] = []
        self.waiter: asyncio.Future | None = None
        self.closed: str | None = None
        self.task: asyncio.Task | None = None


class State:
    def __init__(self) -> None:
        self.conns: list[Conn] = []
        self.marker: str | None = None
        self.received = 0
        self.progress = asyncio.Event()


async def reader(conn: Conn, state: State) -> None:
    monotonic = time.monotonic
    try:
        async for text in conn.ws:
            now = monotonic()
            if isinstance(text, bytes):
                text = text.decode()
            marker = state.marker
            if marker is not None and marker in text:
                conn.frames.append((now, text))
                state.received += 1
                state.progress.set()
            else:
                conn.other.append((now, text))
                if conn.waiter is not None and not conn.waiter.done():
                    conn.waiter.set_result(None)
    except ConnectionClosed as exc:
        conn.closed = f"{exc.rcvd.code if exc.rcvd else 'no close frame'}"
    except Exception as exc:  # a benchmark reports failures; it does not die of them
        conn.closed = f"{type(exc).__name__}: {exc}"
    else:
        code = conn.ws.close_code
        conn.closed = str(code)
    if conn.waiter is not None and not conn.waiter.done():
        conn.waiter.set_result(None)
    state.progress.set()


async def cmd_connect(state: State, cmd: dict[str, Any]) -> dict[str, Any]:
    semaphore = asyncio.Semaphore(cmd.get("concurrency", 200))
    durations: list[float] = []
    errors: dict[str, int] = {}

    async def one(url: str, headers: dict[str, str]) -> None:
        async with semaphore:
            started = time.monotonic()
            try:
                ws = await connect(
                    url,
                    origin=cmd.get("origin"),
                    additional_headers=headers,
                    compression=None,
                    ping_interval=None,
                    open_timeout=cmd.get("timeout", 60),
                    close_timeout=2,
                    max_size=2**22,
                    user_agent_header=None,
                )
            except Exception as exc:
                key = f"{type(exc).__name__}: {exc}"[:160]
                errors[key] = errors.get(key, 0) + 1
                return
            durations.append(time.monotonic() - started)
            conn = Conn(ws)
            conn.task = asyncio.create_task(reader(conn, state))
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
            await conn.ws.send('{"type":"ping"}')
        except ConnectionClosed:
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
    }


async def cmd_send(state: State, cmd: dict[str, Any]) -> dict[str, Any]:
    """Each connection sends its frame at once; time the first reply containing a marker."""
    frames: list[str | None] = cmd["frames"]
    markers: list[str] = cmd["reply_markers"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + cmd.get("timeout", 60)
    durations: list[float] = []
    replies: dict[str, int] = {}
    sent_at: list[float] = []
    done_at: list[float] = []

    async def one(conn: Conn, frame: str) -> None:
        start_index = len(conn.other)
        started = time.monotonic()
        try:
            await conn.ws.send(frame)
        except ConnectionClosed:
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

    started = time.monotonic()
    await asyncio.gather(
        *(one(conn, frame) for conn, frame in zip(state.conns, frames, strict=False) if frame)
    )
    elapsed = (max(done_at) - started) if done_at else None
    return {
        "sent": len(sent_at),
        "answered": len(durations),
        "elapsed_s": round(elapsed, 3) if elapsed else None,
        "per_second": round(len(durations) / elapsed, 1) if elapsed else None,
        "latency": summary_ms(durations),
        "replies": dict(sorted(replies.items(), key=lambda item: -item[1])[:8]),
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
