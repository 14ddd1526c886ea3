"""How a benchmark makes an event happen, and what every client must then receive.

- `ApiPublisher`: the real path — `POST /api/v1/announcements`, `/submit` by an author, then
  the timed `POST /api/v1/announcements/{id}/publish` by a signer with MFA and a `publish`
  token (another person: the two-person rule), over HTTP to a server process. The expected
  frame is read back from the committed event row.
- `EmitPublisher`: `realtime.outbox.emit` in a committed transaction of the bench process — the
  stand-in while the announcements API does not exist (results say which path was used).
- `FloorPublisher`: the bare `websockets` server's broadcast of the same frame.

Each `publish(marker)` returns (t0, expected): t0 is time.monotonic() just before the request,
and expected is what the load client verifies — event type, event id and the whole data object.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

ISSUER_EMAIL = "penerbit@issuer.bench.invalid"
AUTHOR_EMAIL = "penyusun@issuer.bench.invalid"
ISSUER_UNIT = "33.SETDA"
EVENT_TYPE = "announcement.published"
#: A body of a realistic length (a short circular: ~1 KB of Markdown).
BODY = (
    "Sehubungan dengan pelaksanaan kegiatan pemerintahan, dengan ini disampaikan kepada seluruh "
    "ASN di lingkungan Pemerintah Provinsi Jawa Tengah dan Pemerintah Kabupaten/Kota se-Jawa "
    "Tengah hal-hal sebagai berikut:\n\n"
    "1. Seluruh perangkat daerah agar memastikan layanan publik tetap berjalan.\n"
    "2. Pimpinan unit kerja agar memantau kehadiran pegawai dan melaporkannya.\n"
    "3. Informasi lebih lanjut dapat diperoleh melalui Diskominfo Provinsi Jawa Tengah.\n\n"
    "Demikian untuk dilaksanakan dengan penuh tanggung jawab.\n"
) * 2


def api_available() -> str | None:
    """None if the announcements publishing API exists, else why not."""
    from django.urls import Resolver404, resolve

    try:
        resolve("/api/v1/announcements/1/publish")
        resolve("/api/v1/announcements")
    except Resolver404:
        return "POST /api/v1/announcements/{id}/publish does not exist yet"
    return None


def http_json(method: str, url: str, token: str, body: Any = None,
              timeout: float = 120) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
    })
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:  # an HTML error page (a 500) is an answer too
        return status, raw[:200].decode(errors="replace")


def _bench_user(email: str, full_name: str, position: str, role: str,
                scopes: list[str]) -> tuple[Any, str]:
    """A user of the governor's secretariat in `role`, with MFA, and a fresh token."""
    from allauth.mfa.models import Authenticator

    from accounts.models import ApiToken, Membership, Unit, User
    from accounts.tokens import token_create

    unit = Unit.objects.get(code=ISSUER_UNIT)
    user, _ = User.objects.get_or_create(
        email=email, defaults={"full_name": full_name, "home_unit": unit,
                               "position": position, "password": "!bench"},
    )
    Membership.objects.get_or_create(user=user, unit=unit, role=role)
    # The signer's second factor: the services require one (MFA_ROLES); a TOTP enrolment row is
    # what allauth stores, and the benchmark never needs to type a code.
    Authenticator.objects.get_or_create(user=user, type=Authenticator.Type.TOTP,
                                        defaults={"data": {"secret": "bench"}})
    ApiToken.objects.filter(user=user, name="bench-publisher").delete()
    _, secret = token_create(user=user, name="bench-publisher", scopes=scopes)
    return user, secret


def ensure_issuer() -> tuple[Any, str]:
    """A signer of the governor's secretariat with MFA, and a publish token."""
    return _bench_user(ISSUER_EMAIL, "Penerbit Uji", "Sekretaris Daerah", "signer",
                       ["read", "write", "publish"])


def ensure_author() -> tuple[Any, str]:
    """An author of the same unit and a write token: drafts are written by someone other than
    their signer, as the two-person rule (TWO_PERSON_RULE, on by default) requires."""
    return _bench_user(AUTHOR_EMAIL, "Penyusun Uji", "Analis Kebijakan", "author",
                       ["read", "write"])


class ApiPublisher:
    label = "POST /api/v1/announcements/{id}/publish (signed, receipts, event)"
    path = "api"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.user, self.token = ensure_issuer()
        self.author, self.author_token = ensure_author()
        self.last_data: dict[str, Any] | None = None
        self.last_request_ms: float | None = None

    def draft(self, marker: str, *, requires_ack: bool = False,
              units: list[str] | None = None) -> int:
        """Create and submit a draft (as the author); returns its id (not timed)."""
        status, body = http_json("POST", f"{self.base_url}/api/v1/announcements",
                                 self.author_token, {
            "issuer": ISSUER_UNIT,
            "title": marker,
            "body": BODY,
            "reference_number": f"B/{marker[-12:]}",
            "priority": "penting",
            "classification": "internal",
            "audience": {"units": units or ["33"], "include_subunits": True, "roles": []},
            "requires_ack": requires_ack,
        })
        if status != 201:
            raise RuntimeError(f"create announcement: {status} {body}")
        announcement_id = body["id"]
        status, body = http_json(
            "POST", f"{self.base_url}/api/v1/announcements/{announcement_id}/submit",
            self.author_token,
        )
        if status != 200:
            raise RuntimeError(f"submit announcement: {status} {body}")
        return announcement_id

    def publish_draft(self, announcement_id: int, base_url: str | None = None
                      ) -> tuple[float, float]:
        """Publish; return (t0, seconds until the response, i.e. committed and pushed)."""
        url = f"{base_url or self.base_url}/api/v1/announcements/{announcement_id}/publish"
        t0 = time.monotonic()
        status, body = http_json("POST", url, self.token)
        elapsed = time.monotonic() - t0
        if status != 200:
            raise RuntimeError(f"publish announcement: {status} {body}")
        return t0, elapsed

    def expected_for(self, announcement_id: int, marker: str) -> dict[str, Any]:
        from realtime.models import Event

        event = Event.objects.filter(type=EVENT_TYPE, data__id=announcement_id).get()
        self.last_data = event.data
        return {"marker": marker, "type": event.type, "id": event.id, "data": event.data}

    def publish(self, marker: str) -> tuple[float, dict[str, Any]]:
        announcement_id = self.draft(marker)
        t0, elapsed = self.publish_draft(announcement_id)
        self.last_request_ms = round(elapsed * 1000, 1)
        return t0, self.expected_for(announcement_id, marker)


def sample_data(marker: str) -> dict[str, Any]:
    """Event data shaped like announcements.services' `announcement.published` data."""
    return {
        "id": 0, "version": 1, "title": marker, "priority": "penting",
        "issuer": {"code": ISSUER_UNIT, "name": "Sekretariat Daerah Provinsi Jawa Tengah"},
        "reference_number": f"B/{marker[-12:]}", "published_at": "2026-11-29T10:00:00Z",
        "requires_ack": False, "ack_deadline": None, "verify_code": "BENCH123",
        "url": "/pengumuman/0/",
    }


class EmitPublisher:
    label = "realtime.outbox.emit in a committed transaction of the bench process"
    path = "emit"

    def __init__(self) -> None:
        self.last_data: dict[str, Any] | None = None
        self.last_request_ms: float | None = None

    def publish(self, marker: str) -> tuple[float, dict[str, Any]]:
        from django.db import transaction

        from realtime.outbox import emit

        data = sample_data(marker)
        t0 = time.monotonic()
        with transaction.atomic():
            event = emit(type=EVENT_TYPE, data=data, groups=["unit.33"],
                         audience={"units": ["33"], "subunits": True, "roles": []})
        self.last_request_ms = round((time.monotonic() - t0) * 1000, 1)
        self.last_data = data
        return t0, {"marker": marker, "type": EVENT_TYPE, "id": event.id, "data": data}


class FloorPublisher:
    """Broadcast through the bare server's control connection."""

    label = "websockets.broadcast (bare floor)"
    path = "floor"

    def __init__(self, server_url: str, template: dict[str, Any]) -> None:
        from contextlib import ExitStack

        from websockets.sync.client import connect

        self._stack = ExitStack()
        self.control = self._stack.enter_context(connect(
            server_url.replace("http://", "ws://") + "/control", compression=None,
            open_timeout=10,
        ))
        self.template = template
        self.next_id = 10**9

    def frames(self, marker: str) -> tuple[str, dict[str, Any]]:
        self.next_id += 1
        data = dict(self.template, title=marker)
        text = json.dumps({"id": self.next_id, "type": EVENT_TYPE, "data": data},
                          separators=(",", ":"), ensure_ascii=False)
        return text, {"marker": marker, "type": EVENT_TYPE, "id": self.next_id, "data": data}

    def publish(self, marker: str) -> tuple[float, dict[str, Any]]:
        text, expected = self.frames(marker)
        t0 = time.monotonic()
        self.control.send(json.dumps({"broadcast": [text]}))
        self.control.recv(timeout=60)
        return t0, expected

    def publish_many(self, markers: list[str]) -> tuple[float, list[dict[str, Any]]]:
        built = [self.frames(marker) for marker in markers]
        t0 = time.monotonic()
        self.control.send(json.dumps({"broadcast": [text for text, _ in built]}))
        self.control.recv(timeout=120)
        return t0, [expected for _, expected in built]

    def close(self) -> None:
        self._stack.close()
