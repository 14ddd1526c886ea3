"""What every benchmark shares: the database, a synthetic population, real server processes,
the load client process, and results (a printed table and a JSON file in bench/results/).

Nothing here starts PostgreSQL or Redis: they are used when DATABASE_URL / REDIS_URL are set
(the benchmark database is created if missing), else SQLite under VAR_DIR and no Redis.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stats import raise_nofile_limit, summary_ms

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: Synthetic users are recognisable by their e-mail domain (reserved by RFC 2606).
BENCH_DOMAIN = "bench.invalid"
#: Prefix of the session keys the benchmarks create (session keys are [a-z0-9]).
SESSION_PREFIX = "bnch"
#: Channel-layer prefix of channels_redis (its default), to clear stale groups between runs.
LAYER_PREFIX = "asgi"
#: The machine's load when this benchmark process started (other work skews every figure).
LOAD_AT_START = [round(value, 2) for value in os.getloadavg()]


def quick() -> bool:
    return os.environ.get("BENCH_QUICK", "") in {"1", "true", "yes"}


def var_dir() -> Path:
    path = Path(os.environ.get("VAR_DIR") or ROOT / "var")
    path.mkdir(parents=True, exist_ok=True)
    return path


def setup_django() -> None:
    """Configure this (the bench) process with the settings the servers use."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    # The bench process is synchronous code that also runs an event loop helper (async_to_sync).
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    import django

    django.setup()
    raise_nofile_limit()
    # As the ASGI server's process does (comms/asgi.py): its pages are measured in this one.
    from realtime.heap import freeze_startup_objects

    freeze_startup_objects()


def common_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 0)),
                        help="runs per measurement; the median is reported (default 3, quick 1)")
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/")
    return parser


def repeat_count(args: argparse.Namespace) -> int:
    return args.repeat or (1 if quick() else 3)


# --- Database and population ----------------------------------------------------------------


def prepare_database() -> str:
    """Create the PostgreSQL benchmark database if missing, migrate; return the vendor."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.postgresql":
        import psycopg

        params = {"host": db.get("HOST") or "127.0.0.1", "port": db.get("PORT") or 5432,
                  "user": db.get("USER") or "postgres", "dbname": "postgres"}
        if db.get("PASSWORD"):
            params["password"] = db["PASSWORD"]
        with psycopg.connect(**params, autocommit=True) as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
            ).fetchone()
            if not exists:
                admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", interactive=False, verbosity=0)
    return connection.vendor


#: Units of the synthetic province: every regency/city of Central Java (Kemendagri codes) with
#: four OPDs each, plus four provincial OPDs. People are spread evenly over the OPDs.
REGENCY_CODES = [f"33.{i:02d}" for i in range(1, 30)] + [f"33.{i}" for i in range(71, 77)]
OPD_CODES = ["DISKOMINFO", "DINKES", "DISDIK", "BKD"]
PROVINCIAL_OPD_CODES = ["SETDA", "DISKOMINFO", "BAPPEDA", "BKD"]


def ensure_units() -> list[Any]:
    """Create the synthetic organisation (idempotent); return the leaf units, in code order."""
    from accounts.models import Unit

    existing = {unit.code: unit for unit in Unit.objects.all()}

    def unit(code: str, name: str, kind: str, parent: Any) -> Any:
        if code not in existing:
            existing[code] = Unit.objects.create(
                code=code, name=name, kind=kind, parent=parent, short_name=code.split(".")[-1]
            )
        return existing[code]

    province = unit("33", "Provinsi Jawa Tengah", "province", None)
    leaves = [unit(f"33.{opd}", f"{opd} Provinsi", "provincial_opd", province)
              for opd in PROVINCIAL_OPD_CODES]
    for code in REGENCY_CODES:
        kind = "city" if int(code.split(".")[1]) > 70 else "regency"
        regency = unit(code, f"Daerah {code}", kind, province)
        leaves += [unit(f"{code}.{opd}", f"{opd} {code}", "opd", regency) for opd in OPD_CODES]
    return leaves


@dataclass
class Person:
    id: int
    unit_code: str


def ensure_users(count: int) -> list[Person]:
    """At least `count` synthetic users (member of their home OPD); return the first `count`."""
    from accounts.models import Membership, User

    leaves = ensure_units()
    have = User.objects.filter(email__endswith=f"@{BENCH_DOMAIN}").count()
    batch = 5000
    for start in range(have, count, batch):
        stop = min(count, start + batch)
        users = [
            User(
                email=f"u{index:07d}@{BENCH_DOMAIN}",
                full_name=f"ASN Uji {index}",
                position="Pelaksana",
                home_unit=leaves[index % len(leaves)],
                # An unusable password: these people only ever hold a session made below.
                password="!bench",
            )
            for index in range(start, stop)
        ]
        User.objects.bulk_create(users, batch_size=batch)
        created = User.objects.filter(
            email__in=[user.email for user in users]
        ).values_list("id", "home_unit_id")
        Membership.objects.bulk_create(
            [Membership(user_id=uid, unit_id=unit_id, role="member") for uid, unit_id in created],
            batch_size=batch,
        )
    rows = (
        User.objects.filter(email__endswith=f"@{BENCH_DOMAIN}")
        .order_by("email")
        .values_list("id", "home_unit__code")[:count]
    )
    return [Person(uid, code) for uid, code in rows]


def make_sessions(people: list[Person]) -> list[str]:
    """A real login session (a django_session row) per person; return the session keys.

    Exactly what `django.contrib.auth.login()` stores, encoded by the session engine, written
    with one bulk insert instead of N logins.
    """
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from accounts.models import User

    Session.objects.filter(session_key__startswith=SESSION_PREFIX).delete()
    store = SessionStore()
    expire = timezone.now() + timezone.timedelta(days=1)
    users = User.objects.in_bulk([person.id for person in people])
    sessions = []
    for person in people:
        user = users[person.id]
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        key = SESSION_PREFIX + get_random_string(36, "abcdefghijklmnopqrstuvwxyz0123456789")
        sessions.append(Session(session_key=key, session_data=store.encode(data),
                                expire_date=expire))
    Session.objects.bulk_create(sessions, batch_size=5000)
    return [session.session_key for session in sessions]


def make_tokens(people: list[Person], scopes: list[str]) -> list[str]:
    """A real API token per person (only its SHA-256 stored, as accounts.tokens does)."""
    import secrets

    from accounts.models import ApiToken

    ApiToken.objects.filter(name="bench").delete()
    secrets_ = [ApiToken.PREFIX + secrets.token_urlsafe(32) for _ in people]
    ApiToken.objects.bulk_create(
        [ApiToken(user_id=person.id, name="bench", token_hash=ApiToken.hash_secret(secret),
                  hint=secret[:10], scopes=scopes) for person, secret in zip(people, secrets_,
                                                                              strict=True)],
        batch_size=5000,
    )
    return secrets_


def use_layer(layer: str) -> None:
    """Make this (the bench) process use the servers' channel layer (emit() pushes from here)."""
    from channels.layers import channel_layers
    from django.conf import settings

    from bench.settings import layer_settings

    settings.CHANNEL_LAYERS = layer_settings(layer)
    channel_layers.backends.clear()


def clear_channel_layer() -> None:
    """Forget groups left in Redis by earlier server processes (they would cost every send)."""
    from django.conf import settings

    if not settings.REDIS_URL:
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(f"{LAYER_PREFIX}*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start:start + 1000])


# --- Server processes -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One real server process: `daphne` or `uvicorn` serving comms.asgi with the options of
    docs/deployment.md, the task `worker`, or the bare `floor`."""

    kind: str
    layer: str = "core"
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    @property
    def label(self) -> str:
        return self.kind if self.kind in ("floor", "worker") else f"{self.kind}/{self.layer}"

    def command(self) -> list[str]:
        if self.kind == "floor":
            return [sys.executable, "-m", "bench.floor", "--port", str(self.port)]
        if self.kind == "uvicorn":
            return [sys.executable, "-m", "uvicorn", "comms.asgi:application", "--host",
                    "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                    "--no-access-log", "--backlog", "4096", "--ws-max-size", "65536",
                    "--lifespan", "on"]
        if self.kind == "worker":
            # The task worker of a deployment (deferred tasks: trailing dashboard summaries …).
            return [sys.executable, "manage.py", "db_worker", "--queue-name", "*",
                    "--no-reload", "--no-startup-delay"]
        if self.kind == "daphne":
            return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                    "-v", "0", "--websocket-max-message-size", "65536",
                    "--websocket-max-frame-size", "65536", "comms.asgi:application"]
        raise ValueError(f"unknown server kind {self.kind!r}")

    def start(self, timeout: float = 60) -> Server:
        log_dir = var_dir() / "bench-logs"
        log_dir.mkdir(exist_ok=True)
        env = dict(os.environ)
        env.update(DJANGO_SETTINGS_MODULE="bench.settings", BENCH_LAYER=self.layer,
                   PYTHONUNBUFFERED="1")
        env.update(self.env)
        self.log_path = log_dir / f"{self.kind}-{self.port}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, preexec_fn=raise_nofile_limit)
        deadline = time.monotonic() + timeout
        if self.kind == "worker":
            time.sleep(1)
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_tail()}")
            return self
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.label} did not become healthy: {self.log_tail()}")

    def profile(self, name: str) -> None:
        """Sample this server with py-spy until it stops (BENCH_PROFILE=1): collapsed stacks
        in VAR_DIR/profiles/, summarised by `python -m bench.profile FILE`."""
        assert self.process is not None
        out = var_dir() / "profiles"
        out.mkdir(exist_ok=True)
        self.profile_path = out / f"{name}-{self.label.replace('/', '-')}-{self.port}.txt"
        self.profiler = subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
             str(self.process.pid), "--format", "raw", "--rate", "200", "--nonblocking",
             "-o", str(self.profile_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        profiler = getattr(self, "profiler", None)
        if profiler is not None and profiler.poll() is None:
            profiler.send_signal(signal.SIGINT)
            try:
                profiler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                profiler.kill()
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _status(self, field_name: str) -> int:
        """A memory figure of the server process from /proc, in KiB."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
        raise LookupError(field_name)

    def rss_kib(self) -> int:
        return self._status("VmRSS")

    def peak_rss_kib(self) -> int:
        return self._status("VmHWM")

    def reset_peak(self) -> None:
        """Reset VmHWM to the current RSS (Linux: write 5 to /proc/PID/clear_refs)."""
        assert self.process is not None
        try:
            Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
        except OSError:
            pass

    def log_tail(self, lines: int = 30) -> str:
        path = getattr(self, "log_path", None)
        if not path or not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def client_processes() -> int:
    """How many load-client processes share the connections (BENCH_CLIENT_PROCESSES).

    One per core by default. A single asyncio process receiving one frame on each of 10,000
    connections spends ~60 µs per frame (a wake-up, a read, a parse), so it alone made the
    floor's last client wait ~600 ms: the load generator, not the server, set the pace.
    Browsers on 10,000 phones receive in parallel; so, as far as the cores allow, do these.
    """
    value = os.environ.get("BENCH_CLIENT_PROCESSES", "")
    return max(1, int(value)) if value else max(1, os.cpu_count() or 1)


class LoadClient:
    """The load client (bench/client.py): one or more processes, driven by JSON lines.

    With several processes, the connections are split between them (round-robin over the
    targets of each `connect`), every command goes to all of them at once, and the replies are
    merged into the reply one process would give: counts added, percentiles recomputed from
    every process's samples (`raw`), elapsed times from the earliest start to the latest end.
    """

    def __init__(self, processes: int | None = None) -> None:
        count = client_processes() if processes is None else max(1, processes)
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.client"], cwd=ROOT, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True, preexec_fn=raise_nofile_limit,
            )
            for _ in range(count)
        ]
        #: Open connections per process, in the order `send` frames are given.
        self.connections = [0] * count

    def _split(self, cmd: str, params: dict[str, Any]) -> list[dict[str, Any] | None]:
        count = len(self.processes)
        if count == 1:
            return [params]
        if cmd == "connect":
            parts = [dict(params, targets=params["targets"][k::count]) for k in range(count)]
            return [part if part["targets"] else None for part in parts]
        if cmd == "send":
            parts, offset = [], 0
            for connections in self.connections:
                frames = params["frames"][offset:offset + connections]
                offset += connections
                part = dict(params, frames=frames)
                if params.get("rate"):
                    # Each process offers its share of the rate.
                    part["rate"] = params["rate"] * connections / max(1, sum(self.connections))
                parts.append(part if frames else None)
            return parts
        if cmd == "http":
            concurrency = params.get("concurrency", 50)
            return [
                dict(params, requests=params["requests"][k::count],
                     concurrency=max(1, concurrency // count + (k < concurrency % count)))
                if params["requests"][k::count] else None
                for k in range(count)
            ]
        return [params] * count

    def call(self, cmd: str, **params: Any) -> dict[str, Any]:
        """Send a command (its `timeout` goes to the client) and wait for the reply."""
        parts = self._split(cmd, params)
        asked = []
        for process, part in zip(self.processes, parts, strict=True):
            if part is None:
                continue
            assert process.stdin
            process.stdin.write(json.dumps({"cmd": cmd, **part}) + "\n")
            process.stdin.flush()
            asked.append(process)
        wait = params.get("timeout", 60) + 120
        deadline = time.monotonic() + wait
        replies = []
        for process in asked:
            assert process.stdout
            ready, _, _ = select.select([process.stdout], [], [],
                                        max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError(f"load client did not answer {cmd} within {wait} s")
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"load client exited during {cmd}")
            reply = json.loads(line)
            if "error" in reply:
                raise RuntimeError(f"load client {cmd}: {reply['error']}")
            replies.append(reply)
        if cmd == "connect":
            index = 0
            for k, part in enumerate(parts):
                if part is not None:
                    self.connections[k] += replies[index]["connected"]
                    index += 1
        elif cmd == "close":
            self.connections = [0] * len(self.processes)
        return merge_replies(cmd, replies)

    def close(self) -> None:
        if any(process.poll() is None for process in self.processes):
            try:
                self.call("close", timeout=60)
            except (OSError, RuntimeError, TimeoutError):
                pass
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    def __enter__(self) -> LoadClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _add(replies: list[dict[str, Any]], key: str) -> int:
    return sum(reply.get(key) or 0 for reply in replies)


def _add_counts(replies: list[dict[str, Any]], key: str) -> dict[str, int]:
    merged: dict[str, int] = {}
    for reply in replies:
        for name, count in (reply.get(key) or {}).items():
            merged[name] = merged.get(name, 0) + count
    return dict(sorted(merged.items(), key=lambda item: -item[1])[:8])


def merge_replies(cmd: str, replies: list[dict[str, Any]]) -> dict[str, Any]:
    """One reply from the replies of several client processes (see LoadClient)."""
    raw = [value for reply in replies for value in reply.pop("raw", None) or ()]
    if len(replies) == 1:
        return replies[0]
    if not replies:
        return {}
    if cmd == "connect":
        connected = _add(replies, "connected")
        elapsed = max(reply["elapsed_s"] for reply in replies)
        return {
            "connected": connected, "failed": _add(replies, "failed"),
            "errors": _add_counts(replies, "errors"), "elapsed_s": elapsed,
            "per_second": round(connected / elapsed, 1) if elapsed else None,
            "handshake": summary_ms(raw),
        }
    if cmd == "ready":
        return {"ready": _add(replies, "ready"), "open": _add(replies, "open"),
                "closed": _add_counts(replies, "closed"), "ping": summary_ms(raw)}
    if cmd == "collect":
        firsts = [reply["first_ms"] for reply in replies if reply["first_ms"] is not None]
        lasts = [reply["last_s"] for reply in replies if reply["last_s"] is not None]
        merged = {key: _add(replies, key) for key in
                  ("connections", "open", "expected", "ok", "missing", "bad", "duplicates")}
        return {
            **merged, "problems": _add_counts(replies, "problems"), "latency": summary_ms(raw),
            "first_ms": min(firsts) if firsts else None, "last_s": max(lasts) if lasts else None,
            "waited_s": max(reply["waited_s"] for reply in replies),
        }
    if cmd in {"send", "http"}:
        started = min(reply["started"] for reply in replies)
        finished = [reply["finished"] for reply in replies if reply["finished"] is not None]
        elapsed = (max(finished) - started) if finished else None
        merged = {
            "elapsed_s": round(elapsed, 3) if elapsed else None,
            "per_second": round(len(raw) / elapsed, 1) if elapsed else None,
            "latency": summary_ms(raw), "started": started,
            "finished": max(finished) if finished else None,
        }
        if cmd == "send":
            return {"sent": _add(replies, "sent"), "answered": _add(replies, "answered"),
                    **merged, "replies": _add_counts(replies, "replies")}
        return {"requests": _add(replies, "requests"), **merged,
                "statuses": _add_counts(replies, "statuses")}
    if cmd == "dump":
        return {"frames": [frames for reply in replies for frames in reply["frames"]]}
    return replies[0]


class CpuMeter:
    """CPU seconds used by each part of the machine between `start()` and `stop()`.

    From /proc: each process's utime + stime, and the machine's busy time (/proc/stat). Parts:
    the servers, the load clients, every PostgreSQL and Redis process, this bench process; the
    rest of the machine is "other". On a 2-core machine the question a throughput figure raises
    is where the (cores x wall) seconds went; this answers it.
    """

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, servers: list[Server], client: LoadClient) -> None:
        self.parts: dict[str, list[int]] = {
            "servers": [server.process.pid for server in servers if server.process],
            "load clients": [process.pid for process in client.processes],
            "bench process": [os.getpid()],
        }

    @classmethod
    def _process_seconds(cls, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / cls.TICK

    @staticmethod
    def _named(prefix: str) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "comm").read_text().startswith(prefix):
                        pids.append(int(entry.name))
                except OSError:
                    continue
        return pids

    @classmethod
    def _machine_busy(cls) -> float:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return (sum(values[:8]) - idle) / cls.TICK

    def _snapshot(self) -> dict[str, float]:
        parts = dict(self.parts, postgresql=self._named("postgres"), redis=self._named("redis"))
        found = {name: sum(self._process_seconds(pid) for pid in pids)
                 for name, pids in parts.items()}
        found["machine"] = self._machine_busy()
        return found

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.before = self._snapshot()

    def stop(self) -> dict[str, float]:
        after = self._snapshot()
        used = {name: round(after[name] - self.before.get(name, 0.0), 2) for name in after}
        parts = sum(value for name, value in used.items() if name != "machine")
        used["other"] = round(max(0.0, used["machine"] - parts), 2)
        used["wall"] = round(time.monotonic() - self.started_at, 2)
        used["available"] = round(used["wall"] * (os.cpu_count() or 1), 2)
        return used


def cookie_headers(session_keys: list[str]) -> list[dict[str, str]]:
    from django.conf import settings

    return [{"Cookie": f"{settings.SESSION_COOKIE_NAME}={key}"} for key in session_keys]


# --- Results ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "load_average_at_start": LOAD_AT_START,
        "load_average_at_finish": [round(value, 2) for value in os.getloadavg()],
    }


def environment() -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection

    return {
        "database": connection.vendor,
        "redis": bool(settings.REDIS_URL),
        "quick": quick(),
    }


def write_result(name: str, result: dict[str, Any], args: argparse.Namespace) -> Path | None:
    if getattr(args, "no_json", False):
        return None
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {
        "benchmark": name,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "environment": environment(),
        **result,
    }
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    text = json.dumps(document, indent=2, default=str)
    path.write_text(text)
    (RESULTS_DIR / f"{name}-latest.json").write_text(text)
    print(f"\n→ {path.relative_to(ROOT)}")
    return path


def not_available(name: str, reason: str, args: argparse.Namespace) -> dict[str, Any]:
    """Report a benchmark whose endpoint does not exist yet, instead of faking a number."""
    print(f"{name}: not available yet — {reason}")
    result = {"status": "not available yet", "reason": reason}
    write_result(name, result, args)
    return result


@dataclass
class Deployment:
    """Servers started and N clients connected to them (spread evenly), ready."""

    servers: list[Server]
    connected: int = 0
    ready: int = 0
    closed: dict[str, int] = field(default_factory=dict)
    connect_errors: dict[str, int] = field(default_factory=dict)
    connect_s: float = 0.0
    connect_per_s: float | None = None
    handshake: dict[str, Any] = field(default_factory=dict)
    rss_start_kib: int = 0
    rss_idle_kib: int = 0
    kib_per_connection: float | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "servers": [server.label for server in self.servers],
            "processes": len(self.servers),
            "connected": self.connected,
            "ready": self.ready,
            "closed": self.closed,
            "connect_errors": self.connect_errors,
            "connect_s": self.connect_s,
            "connect_per_s": self.connect_per_s,
            "handshake": self.handshake,
            "rss_start_kib": self.rss_start_kib,
            "rss_idle_kib": self.rss_idle_kib,
            "kib_per_connection": self.kib_per_connection,
        }


@contextmanager
def deployed(specs: list[tuple[str, str]], headers: list[dict[str, str]],
             client: LoadClient, *, worker: bool = False) -> Iterator[Deployment]:
    """Start a server per (kind, layer), connect one client per header set, yield; then close
    the clients and stop the servers, whatever happened. `worker`: also run the task worker
    (deferred tasks), as a deployment does."""
    clear_channel_layer()
    if specs[0][0] != "floor":
        use_layer(specs[0][1])
    deployment = Deployment(servers=[])
    task_worker = Server("worker", specs[0][1]) if worker else None
    try:
        if task_worker is not None:
            task_worker.start()
        for kind, layer in specs:
            deployment.servers.append(Server(kind, layer).start())
        servers = deployment.servers
        if os.environ.get("BENCH_PROFILE") in {"1", "true", "yes"}:
            for server in servers:
                server.profile(f"{len(headers)}")
        targets = [[servers[i % len(servers)].ws_url, h] for i, h in enumerate(headers)]
        # A first tenth warms each server up (lazy imports, pools, caches), so that the memory
        # per connection is measured over the other nine tenths only.
        warm = max(len(servers), len(targets) // 10)
        deployment.rss_start_kib = sum(s.rss_kib() for s in servers)
        first = client.call("connect", targets=targets[:warm], origin=servers[0].url,
                            concurrency=100, timeout=120)
        client.call("ready", timeout=120)
        rss_warm = sum(s.rss_kib() for s in servers)
        rest = client.call("connect", targets=targets[warm:], origin=servers[0].url,
                           concurrency=100, timeout=120)
        ready = client.call("ready", timeout=180)
        time.sleep(1)
        deployment.rss_idle_kib = sum(s.rss_kib() for s in servers)
        deployment.connected = first["connected"] + rest["connected"]
        deployment.ready = ready["ready"]
        deployment.closed = ready["closed"]
        deployment.connect_errors = {**first["errors"], **rest["errors"]}
        deployment.connect_s = round(first["elapsed_s"] + rest["elapsed_s"], 2)
        deployment.connect_per_s = rest["per_second"]
        deployment.handshake = rest["handshake"]
        if rest["connected"]:
            deployment.kib_per_connection = round(
                (deployment.rss_idle_kib - rss_warm) / rest["connected"], 1
            )
        yield deployment
    finally:
        try:
            client.call("close", exit=False, timeout=120)
        except Exception as exc:  # the client may be what failed
            print(f"  (closing the clients failed: {exc})")
        for server in deployment.servers:
            server.stop()
        if task_worker is not None:
            task_worker.stop()


def set_active_population(count: int) -> None:
    """Make exactly the first `count` synthetic users members of the province; park the rest.

    Publishing to the whole province creates a receipt per member: the fan-out runs must not
    write 300,000 receipts because the large-audience benchmark once created that many people.
    Parked users are inactive, with no home unit and no membership, so that the recipients
    query does not even see them (deactivating alone still left them in its scan).
    """
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Membership, User

    bench = User.objects.filter(email__endswith=f"@{BENCH_DOMAIN}")
    cutoff = f"u{count:07d}@{BENCH_DOMAIN}"
    parked = bench.filter(email__gte=cutoff)
    Membership.objects.filter(user__in=parked).delete()
    changed = parked.filter(home_unit__isnull=False).update(is_active=False, home_unit=None)
    returning = bench.filter(email__lt=cutoff, home_unit__isnull=True)
    if returning.exists():
        changed += 1
        leaves = ensure_units()
        # The home unit of user number i is leaves[i % len(leaves)], as ensure_users made it.
        number = "CAST(SUBSTR(email, 2, 7) AS INTEGER)"
        with connection.cursor() as cursor:
            for index, unit in enumerate(leaves):
                cursor.execute(
                    f"UPDATE {User._meta.db_table} SET home_unit_id = %s, is_active = %s "  # noqa: S608
                    f"WHERE email LIKE %s AND email < %s AND home_unit_id IS NULL "
                    f"AND {number} %% %s = %s",
                    [unit.pk, True, f"%@{BENCH_DOMAIN}", cutoff, len(leaves), index],
                )
        now = timezone.now()
        missing = bench.filter(email__lt=cutoff).exclude(memberships__isnull=False)
        Membership.objects.bulk_create(
            [Membership(user_id=uid, unit_id=unit_id, role="member", created_at=now)
             for uid, unit_id in missing.values_list("id", "home_unit_id")],
            batch_size=5000,
        )
    bench.filter(email__lt=cutoff, is_active=False).update(is_active=True)
    if changed and connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Parking 300,000 people leaves as many dead rows in the indexes the recipients query
        # walks (measured: 0.5 s instead of 5 ms for 1,000 recipients until vacuumed).
        with connection.cursor() as cursor:
            for model in (User, Membership):
                cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def best_config(default: tuple[str, str] = ("uvicorn", "pubsub")) -> tuple[str, str]:
    """The fastest single-process configuration of the latest fan-out results, else default."""
    path = RESULTS_DIR / "fanout-latest.json"
    if not path.exists():
        return default
    rows = [row for row in json.loads(path.read_text()).get("rows", [])
            if row.get("processes") == 1 and row.get("p99_ms") and not row.get("missing")
            and row["servers"] != ["floor"]]
    if not rows:
        return default
    largest = max(row["n"] for row in rows)
    best = min((row for row in rows if row["n"] == largest), key=lambda row: row["p99_ms"])
    kind, _, layer = best["servers"][0].partition("/")
    return kind, layer


def parse_config(text: str) -> tuple[str, str]:
    """'uvicorn/pubsub' → ('uvicorn', 'pubsub'); 'auto' → best_config()."""
    if text == "auto":
        return best_config()
    kind, _, layer = text.partition("/")
    return kind, layer or "core"


def layer_for(layer: str) -> str:
    """Without Redis every process has its own in-memory layer."""
    from django.conf import settings

    return layer if settings.REDIS_URL else "memory"
