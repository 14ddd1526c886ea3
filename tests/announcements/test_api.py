"""The JSON API of announcements: contracts, scopes, refusals, bad input."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from announcements.models import Announcement, AnnouncementVersion, Attachment
from announcements.receipts.models import Receipt
from tests.announcements.conftest import publish

pytestmark = pytest.mark.django_db


def token_client(user, *scopes: str) -> Client:
    secret = "cmt_" + hashlib.sha256(f"{user.pk}{scopes}".encode()).hexdigest()[:32]
    ApiToken.objects.create(user=user, name="uji", token_hash=ApiToken.hash_secret(secret),
                            hint=secret[:8], scopes=list(scopes))
    return Client(headers={"Authorization": f"Bearer {secret}"})


def body(**overrides) -> dict:
    data = {
        "issuer": "33.74.DISKOMINFO",
        "title": "Libur nasional",
        "body": "Kantor tutup pada **17 Agustus**.",
        "reference_number": "003/45/2026",
        "priority": "biasa",
        "classification": "internal",
        "audience": {"units": ["33.74"], "include_subunits": True, "roles": []},
        "requires_ack": True,
        "ack_deadline": (timezone.now() + timedelta(days=3)).isoformat(),
    }
    data.update(overrides)
    return data


def post(client: Client, url: str, data: dict | None = None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def test_the_whole_lifecycle_through_the_api(signers_with_mfa):
    p = signers_with_mfa
    author = token_client(p.smg_author, "read", "write")
    signer = token_client(p.smg_signer, "read", "write", "publish")
    created = post(author, "/api/v1/announcements", body())
    assert created.status_code == 201, created.content
    ann = created.json()
    assert ann["status"] == "draft" and ann["current_version"] is None
    assert post(author, f"/api/v1/announcements/{ann['id']}/submit").status_code == 200
    published = post(signer, f"/api/v1/announcements/{ann['id']}/publish")
    assert published.status_code == 200, published.content
    data = signer.get(f"/api/v1/announcements/{ann['id']}").json()
    current = data["current_version"]
    assert data["status"] == "published" and data["verify_code"] == ann["verify_code"]
    assert current["content_hash"] == hashlib.sha256(current["payload"].encode()).hexdigest()
    assert len(base64.b64decode(current["signature"])) == 64
    assert json.loads(current["payload"])["title"] == current["title"] == "Libur nasional"
    assert "<strong>17 Agustus</strong>" in current["body_html"]
    assert [v["number"] for v in data["versions"]] == [1]

    # Keys are public; the signature verifies with the listed key.
    keys = Client().get("/api/v1/keys").json()
    key = next(k for k in keys if k["key_id"] == current["key_id"])
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"])).verify(
        base64.b64decode(current["signature"]), current["payload"].encode())
    assert key["unit"]["code"] == "33.74.DISKOMINFO" and key["revoked_at"] is None

    # A correction, then a withdrawal.
    corrected = post(author, f"/api/v1/announcements/{ann['id']}/versions",
                     {"title": "Libur nasional (ralat)", "body": "Tutup 17-18 Agustus.",
                      "reason": "Cuti bersama."})
    assert corrected.status_code == 201
    post(author, f"/api/v1/announcements/{ann['id']}/submit")
    assert post(signer, f"/api/v1/announcements/{ann['id']}/publish").status_code == 200
    data = signer.get(f"/api/v1/announcements/{ann['id']}").json()
    assert data["current_version"]["number"] == 2
    verify = Client().get(f"/api/v1/verify/{ann['verify_code']}-1").json()
    assert verify["status"] == "superseded" and verify["current_version"] == 2
    withdrawn = post(signer, f"/api/v1/announcements/{ann['id']}/withdraw", {"reason": "Batal."})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert Client().get(f"/api/v1/verify/{ann['verify_code']}").json()["status"] == "withdrawn"


def test_the_publish_response_is_the_announcement_as_read_afterwards(signers_with_mfa):
    # The response does not verify the signature it has just made; it must still say exactly
    # what a reader fetching the announcement is told, for a publication and a correction.
    p = signers_with_mfa
    author = token_client(p.smg_author, "read", "write")
    signer = token_client(p.smg_signer, "read", "write", "publish")
    ann = post(author, "/api/v1/announcements", body()).json()
    post(author, f"/api/v1/announcements/{ann['id']}/submit")
    published = post(signer, f"/api/v1/announcements/{ann['id']}/publish")
    assert published.status_code == 200
    assert published.json()["verification"] == {"status": "valid", "problems": []}
    assert published.json() == signer.get(f"/api/v1/announcements/{ann['id']}").json()

    post(author, f"/api/v1/announcements/{ann['id']}/versions",
         {"title": "Libur nasional (ralat)", "body": "Tutup 17-18 Agustus.", "reason": "Cuti."})
    post(author, f"/api/v1/announcements/{ann['id']}/submit")
    corrected = post(signer, f"/api/v1/announcements/{ann['id']}/publish")
    assert corrected.json()["current_version"]["number"] == 2
    assert corrected.json() == signer.get(f"/api/v1/announcements/{ann['id']}").json()

    # Scheduled: version 2 stays in force, and its verification is the real one.
    post(author, f"/api/v1/announcements/{ann['id']}/versions",
         {"title": "Libur nasional (ralat 2)", "body": "Tutup 17-19 Agustus.", "reason": "Lagi."})
    post(author, f"/api/v1/announcements/{ann['id']}/submit")
    later = (timezone.now() + timedelta(days=1)).isoformat()
    scheduled = post(signer, f"/api/v1/announcements/{ann['id']}/publish", {"publish_at": later})
    assert scheduled.json()["current_version"]["number"] == 2
    assert scheduled.json() == signer.get(f"/api/v1/announcements/{ann['id']}").json()


def test_inbox_and_issued_lists(published, personas):
    member = token_client(personas.smg_member, "read")
    inbox = member.get("/api/v1/announcements").json()
    assert [a["id"] for a in inbox] == [published.pk]
    assert inbox[0]["read_at"] is None
    assert member.get("/api/v1/announcements?mine=issued").json() == []
    author = token_client(personas.smg_author, "read")
    assert [a["id"] for a in author.get("/api/v1/announcements?mine=issued").json()] == [
        published.pk]
    outsider = token_client(personas.solo_member, "read")
    assert outsider.get("/api/v1/announcements").json() == []


def test_publish_needs_the_publish_scope(signers_with_mfa):
    p = signers_with_mfa
    author = token_client(p.smg_author, "read", "write")
    ann = post(author, "/api/v1/announcements", body()).json()
    post(author, f"/api/v1/announcements/{ann['id']}/submit")
    signer = token_client(p.smg_signer, "read", "write")
    response = post(signer, f"/api/v1/announcements/{ann['id']}/publish")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert Announcement.objects.get(pk=ann["id"]).current_version is None


def test_an_author_cannot_publish_through_the_api(signers_with_mfa):
    p = signers_with_mfa
    author = token_client(p.smg_author, "read", "write", "publish")
    ann = post(author, "/api/v1/announcements", body()).json()
    post(author, f"/api/v1/announcements/{ann['id']}/submit")
    response = post(author, f"/api/v1/announcements/{ann['id']}/publish")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_signer"


def test_outsiders_get_404(published, personas):
    outsider = token_client(personas.solo_member, "read", "write", "publish")
    assert outsider.get(f"/api/v1/announcements/{published.pk}").status_code == 404
    for action in ("submit", "publish", "withdraw", "return", "versions"):
        response = post(outsider, f"/api/v1/announcements/{published.pk}/{action}",
                        {"reason": "x", "comment": "x", "title": "x", "body": "x"})
        assert response.status_code == 404, action
    assert Client().get(f"/api/v1/announcements/{published.pk}").status_code == 401


def test_the_api_cannot_edit_a_published_version(published, personas):
    author = token_client(personas.smg_author, "read", "write")
    response = author.put(f"/api/v1/announcements/{published.pk}",
                          json.dumps({"title": "Diubah", "body": "x"}),
                          content_type="application/json")
    assert response.status_code == 409
    assert AnnouncementVersion.objects.get(pk=published.current_version_id).title != "Diubah"


def assert_nothing_written() -> None:
    assert not Announcement.objects.exists()
    assert not AnnouncementVersion.objects.exists()


@pytest.mark.parametrize(("overrides", "field"), [
    ({"title": "   "}, "title"),
    ({"body": "x" * 50_001}, "body"),
    ({"audience": {"units": ["33.72"], "include_subunits": True, "roles": []}},
     "audience.units"),
    ({"audience": {"units": ["33.74.TIDAKADA"], "include_subunits": True, "roles": []}},
     "audience.units"),
    ({"audience": {"units": [], "include_subunits": True, "roles": []}}, "audience.units"),
    ({"ack_deadline": (timezone.now() - timedelta(hours=1)).isoformat()}, "ack_deadline"),
    ({"audience": {"units": ["33.74"], "include_subunits": True, "roles": ["raja"]}},
     "audience.roles"),
    ({"reference_number": ""}, "reference_number"),
])
def test_bad_input_gets_a_clear_error_and_writes_nothing(personas, overrides, field):
    author = token_client(personas.smg_author, "read", "write")
    response = post(author, "/api/v1/announcements", body(**overrides))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"], error
    assert_nothing_written()


def test_an_unknown_issuer_and_a_wrong_priority_are_refused(personas):
    author = token_client(personas.smg_author, "read", "write")
    response = post(author, "/api/v1/announcements", body(issuer="33.99.X"))
    assert response.status_code == 400 and "issuer" in response.json()["error"]["fields"]
    response = post(author, "/api/v1/announcements", body(priority="kilat"))
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_input"
    assert_nothing_written()


@pytest.mark.parametrize(("name", "data", "ok"), [
    ("surat.pdf", b"%PDF-1.7\n...", True),
    ("peta.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, True),
    ("foto.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20, True),
    ("virus.pdf", b"MZ\x90\x00 not a pdf", False),
    ("halaman.html", b"<html><script>alert(1)</script>", False),
])
def test_attachments_are_sniffed(personas, name, data, ok):
    author = token_client(personas.smg_author, "read", "write")
    ann = post(author, "/api/v1/announcements", body()).json()
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = author.post(f"/api/v1/announcements/{ann['id']}/attachments",
                           {"file": SimpleUploadedFile(name, data, "application/pdf")})
    if ok:
        assert response.status_code == 201, response.content
        assert response.json()["sha256"] == hashlib.sha256(data).hexdigest()
    else:
        assert response.status_code == 400
        assert "attachment" in response.json()["error"]["fields"]
        assert not Attachment.objects.exists()


def test_an_oversized_attachment_is_refused(personas):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from announcements.services import MAX_ATTACHMENT_BYTES

    author = token_client(personas.smg_author, "read", "write")
    ann = post(author, "/api/v1/announcements", body()).json()
    big = b"%PDF-" + b"0" * MAX_ATTACHMENT_BYTES
    response = author.post(f"/api/v1/announcements/{ann['id']}/attachments",
                           {"file": SimpleUploadedFile("besar.pdf", big)})
    assert response.status_code == 400
    assert not Attachment.objects.exists()


def test_verify_unknown_and_internal_text_hidden(published, personas):
    assert Client().get("/api/v1/verify/ZZZZZZZZZZ").json()["status"] == "unknown"
    answer = Client().get(f"/api/v1/verify/{published.verify_code}").json()
    assert answer["status"] == "valid"
    assert answer["issuer"]["code"] == "33.74.DISKOMINFO"
    assert "title" not in answer  # internal: outsiders do not get the text
    member = token_client(personas.smg_member, "read")
    assert Receipt.objects.filter(user=personas.smg_member).exists()
    assert member.get(f"/api/v1/verify/{published.verify_code}").json()["status"] == "valid"


def test_public_announcements_show_their_title(signers_with_mfa):
    p = signers_with_mfa
    announcement = publish(p.smg_author, p.smg_signer, classification="public")
    answer = Client().get(f"/api/v1/verify/{announcement.verify_code}").json()
    assert answer["title"] == announcement.current_version.title


def test_the_openapi_schema_documents_the_endpoints(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/announcements", "/api/v1/announcements/{announcement_id}/publish",
                 "/api/v1/announcements/{announcement_id}/versions", "/api/v1/keys",
                 "/api/v1/verify/{code}"):
        assert path in schema["paths"], path
