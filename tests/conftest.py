"""Shared fixtures: a small real organisation, personas, a real ASGI server, a real browser.

- `org`: the province, two provincial OPDs and three regencies/cities with OPDs (real codes).
- `personas`: users with roles, named for how tests use them (insider, outsider …).
- `asgi_server`: daphne serving comms.asgi in a separate process on a free port, against the
  test database (tests that use it need `transactional_db`, so that it sees committed rows).
- `ws_connect`: a real `websockets` client logged in as a user (session cookie), or anonymous.
- `page`: a Playwright page in Debian's Chromium.

Services: PostgreSQL and Redis are used when DATABASE_URL / REDIS_URL are set. Tests that need
one skip when it is absent, unless REQUIRE_SERVICES=1 (CI), which turns the skip into a failure;
likewise REQUIRE_BROWSER=1 for the browser.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.factories import MembershipFactory, UnitFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
# Playwright's sync API runs an event loop in the test thread; Django would then refuse ORM
# calls in the *test process*. The application under test runs in its own server process.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CHROMIUM = "/usr/bin/chromium"


def _required(var: str) -> bool:
    return os.environ.get(var, "") in {"1", "true", "yes"}


def need_service(name: str, available: bool, reason: str) -> None:
    """Skip a test whose service is missing — or fail it when the run requires services."""
    if available:
        return
    if _required("REQUIRE_SERVICES"):
        pytest.fail(f"{name} is required (REQUIRE_SERVICES=1) but {reason}")
    pytest.skip(f"{name} not available: {reason}")


@pytest.fixture
def require_redis() -> str:
    url = settings.REDIS_URL
    if not url:
        need_service("Redis", False, "REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        need_service("Redis", False, f"{url} does not answer ({exc})")
    return url


@pytest.fixture
def require_postgres() -> None:
    need_service(
        "PostgreSQL", connection.vendor == "postgresql", "DATABASE_URL is not a PostgreSQL URL"
    )


# --- Organisation and personas --------------------------------------------------------------


@dataclass
class Org:
    province: object
    setda: object
    prov_diskominfo: object
    semarang: object
    semarang_diskominfo: object
    semarang_dinkes: object
    solo: object
    solo_diskominfo: object
    banyumas: object
    banyumas_diskominfo: object
    units: dict[str, object] = field(default_factory=dict)


def build_org() -> Org:
    mk = UnitFactory.create_with_code
    province = mk("33", "Provinsi Jawa Tengah", "province")
    units = {
        "33": province,
        "33.SETDA": mk("33.SETDA", "Sekretariat Daerah Provinsi Jawa Tengah", "provincial_opd"),
        "33.DISKOMINFO": mk("33.DISKOMINFO", "Dinas Komunikasi dan Informatika", "provincial_opd"),
        "33.74": mk("33.74", "Kota Semarang", "city"),
        "33.72": mk("33.72", "Kota Surakarta", "city"),
        "33.02": mk("33.02", "Kabupaten Banyumas", "regency"),
    }
    units["33.74.DISKOMINFO"] = mk("33.74.DISKOMINFO", "Diskominfo Kota Semarang", "opd")
    units["33.74.DINKES"] = mk("33.74.DINKES", "Dinas Kesehatan Kota Semarang", "opd")
    units["33.72.DISKOMINFO"] = mk("33.72.DISKOMINFO", "Diskominfo Kota Surakarta", "opd")
    units["33.02.DISKOMINFO"] = mk("33.02.DISKOMINFO", "Diskominfo Kabupaten Banyumas", "opd")
    return Org(
        province=province,
        setda=units["33.SETDA"],
        prov_diskominfo=units["33.DISKOMINFO"],
        semarang=units["33.74"],
        semarang_diskominfo=units["33.74.DISKOMINFO"],
        semarang_dinkes=units["33.74.DINKES"],
        solo=units["33.72"],
        solo_diskominfo=units["33.72.DISKOMINFO"],
        banyumas=units["33.02"],
        banyumas_diskominfo=units["33.02.DISKOMINFO"],
        units=units,
    )


@pytest.fixture
def org(db) -> Org:
    return build_org()


@dataclass
class Personas:
    #: Governor's office signer (33.SETDA, signer + author).
    gov_signer: object
    #: Provincial Diskominfo author.
    prov_author: object
    #: Semarang Diskominfo: author, signer, admin, head, member, auditor.
    smg_author: object
    smg_signer: object
    smg_admin: object
    smg_head: object
    smg_member: object
    smg_auditor: object
    #: Same regency, another OPD (Dinkes Kota Semarang), plain member.
    smg_dinkes_member: object
    #: Another city (Surakarta Diskominfo), plain member: "should have no access" to Semarang.
    solo_member: object
    #: Another regency (Banyumas Diskominfo), author.
    banyumas_author: object


def make_user(unit, *roles: str, **kwargs) -> object:
    user = UserFactory(home_unit=unit, **kwargs)
    for role in roles or ("member",):
        MembershipFactory(user=user, unit=unit, role=role)
    return user


@pytest.fixture
def personas(org: Org) -> Personas:
    return Personas(
        gov_signer=make_user(org.setda, "signer", "author", full_name="Sekda Jateng"),
        prov_author=make_user(org.prov_diskominfo, "author", full_name="Penyusun Provinsi"),
        smg_author=make_user(org.semarang_diskominfo, "author", full_name="Penyusun Semarang"),
        smg_signer=make_user(org.semarang_diskominfo, "signer", full_name="Kadis Semarang"),
        smg_admin=make_user(org.semarang_diskominfo, "unit_admin", full_name="Admin Semarang"),
        smg_head=make_user(org.semarang_diskominfo, "head", full_name="Kepala Semarang"),
        smg_member=make_user(org.semarang_diskominfo, "member", full_name="ASN Semarang"),
        smg_auditor=make_user(org.semarang, "auditor", full_name="Auditor Semarang"),
        smg_dinkes_member=make_user(org.semarang_dinkes, "member", full_name="ASN Dinkes"),
        solo_member=make_user(org.solo_diskominfo, "member", full_name="ASN Surakarta"),
        banyumas_author=make_user(org.banyumas_diskominfo, "author", full_name="Penyusun Bms"),
    )


def enable_mfa(user) -> None:
    """A real allauth TOTP authenticator: what accounts.permissions.user_has_mfa looks for."""
    from allauth.mfa.models import Authenticator

    Authenticator.objects.get_or_create(user=user, type=Authenticator.Type.TOTP,
                                        defaults={"data": {"secret": "JBSWY3DPEHPK3PXP"}})


def session_cookie_for(user) -> str:
    """Log `user` in (a real session row) and return the session cookie value."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


# --- A real ASGI server ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for_subprocess() -> str:
    """The test database, as a URL another process can open."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(params['NAME']).resolve()}"
    user = params.get("USER") or "postgres"
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"


@dataclass
class AsgiServer:
    port: int
    env: dict[str, str]
    server: str = "daphne"
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    def command(self) -> list[str]:
        if self.server == "uvicorn":
            return [sys.executable, "-m", "uvicorn", "comms.asgi:application",
                    "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                    "--ws-max-size", str(settings.WS_MAX_FRAME_BYTES)]
        # The WebSocket frame limit as in production (docs/deployment.md): over it, 1009.
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                "--websocket-max-message-size", str(settings.WS_MAX_FRAME_BYTES),
                "--websocket-max-frame-size", str(settings.WS_MAX_FRAME_BYTES),
                "comms.asgi:application"]

    def start(self, timeout: float = 30) -> None:
        self.log_path = ROOT / "var" / f"asgi-{self.port}.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ASGI server exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"ASGI server did not become healthy: {self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def server_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="comms.test_settings",
        DATABASE_URL=database_url_for_subprocess(),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.fixture
def start_asgi_server(transactional_db) -> Iterator[Callable[..., AsgiServer]]:
    """Start extra servers (another process, uvicorn …); all are stopped after the test."""
    started: list[AsgiServer] = []

    def start(server: str = "daphne", **env: str) -> AsgiServer:
        instance = AsgiServer(port=free_port(), env=server_env(**env), server=server)
        instance.start()
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()


@pytest.fixture
def asgi_server(start_asgi_server) -> AsgiServer:
    return start_asgi_server()


@pytest.fixture
def ws_connect(asgi_server: AsgiServer):
    """Open a real WebSocket to the test server, as `user` (None: anonymous)."""
    from contextlib import ExitStack

    from websockets.sync.client import connect

    stack = ExitStack()

    def open_socket(user=None, *, origin: str | None = None, headers: dict | None = None,
                    server: AsgiServer | None = None, **kwargs):
        target = server or asgi_server
        extra = dict(headers or {})
        if user is not None:
            extra["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={session_cookie_for(user)}"
        return stack.enter_context(
            connect(target.ws_url, origin=origin or target.url, additional_headers=extra,
                    open_timeout=10, **kwargs)
        )

    with stack:
        yield open_socket


def recv_json(ws, timeout: float = 5) -> dict:
    return json.loads(ws.recv(timeout=timeout))


# --- A real browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_instance():
    if not Path(CHROMIUM).exists():
        if _required("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_context(browser_instance):
    context = browser_instance.new_context(locale="id-ID", timezone_id="Asia/Jakarta")
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()


@pytest.fixture
def login_page(browser_context, asgi_server):
    """A browser page logged in as `user` through a real session cookie."""

    def for_user(user, context=None):
        ctx = context or browser_context
        ctx.add_cookies([{
            "name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(user),
            "domain": "127.0.0.1", "path": "/",
        }])
        return ctx.new_page()

    return for_user


def which(name: str) -> str | None:
    return shutil.which(name)


@pytest.fixture(autouse=True, scope="session")
def _flush_past_append_only_triggers():
    """Let transactional tests of every app empty the database on PostgreSQL.

    The transparency log's tables refuse TRUNCATE by trigger (announcements migration 0004), and
    Django flushes a TransactionTestCase's database with TRUNCATE in one transaction; in it, and
    only there, replica mode skips the triggers. (Same as tests/realtime/conftest.py, for all.)
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = original(self, style, tables, reset_sequences=reset_sequences,
                              allow_cascade=allow_cascade)
        if statements:
            statements = ["SET LOCAL session_replication_role = replica", *statements]
        return statements

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original
