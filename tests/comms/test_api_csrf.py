"""CSRF on the JSON API (issue 14 item 1): a browser session's unsafe requests need the CSRF
token and a JSON body declared as such; bearer tokens need neither token nor cookie.

Django's test client skips CSRF unless `enforce_csrf_checks=True`: every client here enforces
it, as a browser's requests are enforced by the real server.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from announcements.models import Announcement, Status
from announcements.receipts.models import Receipt
from channels_app.models import Message
from tests.announcements.conftest import make_draft, publish
from tests.channels_app.conftest import make_channels
from tests.conftest import enable_mfa

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def session(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_token(client: Client) -> str:
    """The token a page of ours hands its scripts (base.html puts it in hx-headers)."""
    assert client.get("/").status_code == 200
    return client.cookies[settings.CSRF_COOKIE_NAME].value


def post_json(client: Client, url: str, data: dict | None = None, *, token: str | None = None,
              content_type: str = "application/json"):
    headers = {"X-CSRFToken": token} if token else {}
    body = json.dumps(data) if data is not None else ""
    return client.post(url, body, content_type=content_type, headers=headers)


def bearer(user, *scopes: str) -> Client:
    secret = "cmt_" + hashlib.sha256(f"csrf{user.pk}{scopes}".encode()).hexdigest()[:32]
    ApiToken.objects.create(user=user, name="uji", token_hash=ApiToken.hash_secret(secret),
                            hint=secret[:8], scopes=list(scopes))
    return Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def world(org, personas):
    enable_mfa(personas.smg_signer)
    channels = make_channels(org, personas)
    published = publish(personas.smg_author, personas.smg_signer, requires_ack=True,
                        ack_deadline=timezone.now() + timedelta(days=3))
    submitted = make_draft(personas.smg_author)
    from announcements import services

    services.announcement_submit(actor=personas.smg_author, announcement_id=submitted.pk)
    return {"p": personas, "thread": channels.unit_thread, "published": published,
            "submitted": submitted}


def unsafe_operations(world) -> list[tuple[object, str, dict | None]]:
    """(user, url, body) of writes a forged request would aim at."""
    p, published, submitted = world["p"], world["published"], world["submitted"]
    return [
        (p.smg_signer, f"/api/v1/announcements/{submitted.pk}/publish", None),
        (p.smg_member, f"/api/v1/announcements/{published.pk}/ack", {"version": 1}),
        (p.smg_signer, f"/api/v1/announcements/{published.pk}/withdraw",
         {"reason": "Dipalsukan"}),
        (p.smg_member, f"/api/v1/threads/{world['thread'].pk}/messages",
         {"body": "Transfer iuran ke rekening 123"}),
        (p.smg_author, "/api/v1/announcements", {
            "issuer": "33.74.DISKOMINFO", "title": "Palsu", "body": "Palsu.",
            "reference_number": "1/1/2026", "audience": {"units": ["33.74"]}}),
    ]


def snapshot(world) -> dict:
    return {
        "published": Announcement.objects.get(pk=world["published"].pk).status,
        "submitted": Announcement.objects.get(pk=world["submitted"].pk).status,
        "acknowledged": Receipt.objects.filter(acknowledged_at__isnull=False).count(),
        "messages": Message.objects.count(),
        "announcements": Announcement.objects.count(),
    }


def test_a_session_without_the_csrf_token_writes_nothing(world):
    before = snapshot(world)
    for user, url, body in unsafe_operations(world):
        client = session(user)
        csrf_token(client)  # the cookie is there; a forged request has no header
        for content_type in ("application/json", "text/plain"):
            response = post_json(client, url, body, content_type=content_type)
            assert response.status_code == 403, (url, content_type, response.content)
            assert response.json()["error"]["code"] == "csrf_failed"
    assert snapshot(world) == before


def test_a_session_with_a_text_plain_body_writes_nothing_even_with_the_token(world):
    before = snapshot(world)
    for user, url, body in unsafe_operations(world):
        if body is None:
            continue
        client = session(user)
        token = csrf_token(client)
        for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
            response = post_json(client, url, body, token=token, content_type=content_type)
            assert response.status_code == 415, (url, content_type, response.content)
            assert response.json()["error"]["code"] == "unsupported_media_type"
    assert snapshot(world) == before


def test_a_session_with_the_token_and_json_works(world):
    for user, url, body in unsafe_operations(world):
        client = session(user)
        response = post_json(client, url, body, token=csrf_token(client))
        assert response.status_code in (200, 201), (url, response.content)
    after = snapshot(world)
    assert after["published"] == Status.WITHDRAWN and after["submitted"] == Status.PUBLISHED
    assert after["acknowledged"] == 1


def test_other_unsafe_methods_need_the_token_too(world):
    p = world["p"]
    client = session(p.smg_member)
    token = csrf_token(client)
    posted = post_json(client, f"/api/v1/threads/{world['thread'].pk}/messages",
                       {"body": "Asli"}, token=token)
    message_id = posted.json()["message"]["id"]
    url = f"/api/v1/messages/{message_id}"
    forged = client.patch(url, json.dumps({"body": "Diubah"}), content_type="application/json")
    assert forged.status_code == 403
    assert client.delete(url).status_code == 403
    assert Message.objects.get(pk=message_id).body == "Asli"
    edited = client.patch(url, json.dumps({"body": "Diubah"}), content_type="application/json",
                          headers={"X-CSRFToken": token})
    assert edited.status_code == 200, edited.content


def test_bearer_tokens_need_no_csrf_token_but_still_json(world):
    p = world["p"]
    author = bearer(p.smg_author, "read", "write")
    *_, (_, url, body) = unsafe_operations(world)
    assert post_json(author, url, body).status_code == 201
    refused = post_json(author, url, body, content_type="text/plain")
    assert refused.status_code == 415
    assert refused.json()["error"]["code"] == "unsupported_media_type"


def test_safe_methods_and_anonymous_requests_are_unchanged(world):
    p = world["p"]
    client = session(p.smg_member)
    assert client.get(f"/api/v1/announcements/{world['published'].pk}").status_code == 200
    anonymous = Client(enforce_csrf_checks=True)
    response = post_json(anonymous, f"/api/v1/threads/{world['thread'].pk}/messages",
                         {"body": "x"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_the_projects_scripts_send_the_token_and_json_with_every_api_write():
    """Each fetch() with an unsafe method in static/js carries X-CSRFToken and JSON."""
    calls = 0
    for path in sorted((ROOT / "static" / "js").glob("*.js")):
        source = path.read_text()
        for match in re.finditer(r"fetch(?:Retrying)?\(", source):
            options = source[match.end():match.end() + 400].split("});", 1)[0]
            method = re.search(r'method:\s*"(\w+)"', options)
            if not method or method.group(1).upper() in {"GET", "HEAD"}:
                continue
            calls += 1
            assert '"X-CSRFToken": csrfToken()' in options, (path.name, options)
            assert '"Content-Type": "application/json"' in options, (path.name, options)
            assert "JSON.stringify(" in options, (path.name, options)
    assert calls >= 2  # marking a thread read and posting a message
